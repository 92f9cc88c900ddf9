"""v1 user endpoints: shapes, bad input, and who may see and do what."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from accounts.models import User
from accounts.selectors.graph import user_counts
from accounts.services import graph


def _get(path: str, token: str | None = None, **params: Any) -> Any:
    if token:
        params["access_token"] = token
    return Client().get(path, params)


def _post(path: str, token: str | None, **form: str) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client().post(path, form, **headers)


def test_user_detail_has_v1_shape(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_user(name="alice"), make_user(name="bob")
    graph.follow(follower_id=bob.id, target_id=alice.id)
    response = _get(f"/v1/users/{alice.id}", token_for(bob))
    assert response.status_code == 200
    assert response.json() == {
        "meta": {"code": 200},
        "data": {
            "id": str(alice.id),
            "username": alice.username,
            "full_name": "",
            "profile_picture": "",
            "bio": "",
            "website": "",
            "counts": {"media": 0, "follows": 0, "followed_by": 1},
        },
    }
    assert response["X-Ratelimit-Limit"] == str(settings.API_RATE_LIMIT_PER_HOUR)
    me = _get("/v1/users/self.json", token_for(alice))
    assert me.json()["data"]["username"] == alice.username


@pytest.mark.parametrize(
    ("path", "status", "error_type"),
    [
        ("/v1/users/abc", 400, "APIInvalidParametersError"),
        ("/v1/users/-5", 400, "APIInvalidParametersError"),
        (f"/v1/users/{2**70}", 400, "APIInvalidParametersError"),
        ("/v1/users/999999999999", 404, "APINotFoundError"),
        ("/v1/users/self", 400, "OAuthParameterException"),
        ("/v1/users/search", 400, "APIInvalidParametersError"),
        ("/v1/users/search?q=" + "x" * 101, 400, "APIInvalidParametersError"),
        ("/v1/users/search?q=ab&count=0", 400, "APIInvalidParametersError"),
        ("/v1/users/1/follows?count=abc", 400, "APIInvalidParametersError"),
        ("/v1/users/1/follows?max_id=zz", 400, "APIInvalidParametersError"),
        ("/v1/users/self/requested-by", 400, "OAuthParameterException"),
        ("/v1/users/1?access_token=not-a-token", 400, "OAuthAccessTokenException"),
    ],
)
def test_bad_requests_get_clear_errors(live_db, path: str, status: int, error_type: str) -> None:  # type: ignore[no-untyped-def]
    response = Client().get(path)
    assert response.status_code == status
    body = response.json()
    assert body["meta"]["code"] == status
    assert body["meta"]["error_type"] == error_type
    assert body["meta"]["error_message"]


def test_search_finds_by_prefix_of_username_or_name_and_hides_blocks(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="zebra_alice")
    bob = make_user(name="zebra_bob")
    User.objects.filter(id=bob.id).update(full_name="Quokka Person")
    viewer = make_user(name="viewer")
    found = _get("/v1/users/search", token_for(viewer), q="ZEBRA_", count="50").json()["data"]
    assert {u["username"] for u in found} >= {alice.username, bob.username}
    by_name = _get("/v1/users/search", None, q="quokka pe").json()["data"]
    assert [u["id"] for u in by_name] == [str(bob.id)]
    graph.block(blocker_id=bob.id, target_id=viewer.id)
    found = _get("/v1/users/search", token_for(viewer), q="zebra_", count="50").json()["data"]
    assert bob.username not in {u["username"] for u in found}
    # Wildcards are literal.
    assert _get("/v1/users/search", None, q="%").json()["data"] == []


def test_search_uses_the_prefix_indexes(live_db) -> None:  # type: ignore[no-untyped-def]
    from django.db import connections

    from accounts.selectors.users import user_search

    with connections["default"].cursor() as cursor:
        # Price out the sequential scan and the plain index walk (on a near-empty table the
        # planner may walk the unique username index and filter): what is left, a bitmap scan,
        # needs an index whose condition serves the prefix.
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("SET enable_indexscan = off")
        try:
            from django.test.utils import CaptureQueriesContext

            with CaptureQueriesContext(connections["default"]) as captured:
                user_search(query="abc", count=10, viewer_id=None)
            queryset_sql = captured.captured_queries[-1]["sql"]
            cursor.execute("EXPLAIN " + queryset_sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_indexscan")
    # With sequential scans priced out, a plan still has one if no index can serve the prefix.
    assert "Seq Scan" not in plan
    assert "Index Cond: ((lower((username)::text) " in plan
    assert "Index Cond: ((lower((full_name)::text) " in plan


@override_settings(ALLOWED_HOSTS=["photos.example", "testserver"])
def test_follow_lists_page_with_absolute_next_url(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    star = make_user(name="star")
    fans = [make_user(name="fan") for _ in range(3)]
    for fan in fans:
        graph.follow(follower_id=fan.id, target_id=star.id)
    token = token_for(star)
    first = (
        Client()
        .get(
            f"/v1/users/{star.id}/followed-by",
            {"count": "2", "access_token": token},
            HTTP_X_FORWARDED_HOST="photos.example",
            HTTP_X_FORWARDED_PROTO="https",
            REMOTE_ADDR="127.0.0.1",
        )
        .json()
    )
    assert [u["id"] for u in first["data"]] == [str(fans[2].id), str(fans[1].id)]
    next_url = first["pagination"]["next_url"]
    assert next_url.startswith(f"https://photos.example/v1/users/{star.id}/followed-by?")
    assert f"access_token={token}" in next_url
    cursor = first["pagination"]["next_max_id"]
    second = _get(f"/v1/users/{star.id}/followed-by", token, count="2", max_id=cursor).json()
    assert [u["id"] for u in second["data"]] == [str(fans[0].id)]
    assert "pagination" not in second or second["pagination"] == {}
    follows = _get(f"/v1/users/{fans[0].id}/follows", token).json()
    assert [u["id"] for u in follows["data"]] == [str(star.id)]


def test_relationship_actions_through_the_api(make_user, token_for, edges) -> None:  # type: ignore[no-untyped-def]
    fan, star = make_user(name="fan"), make_user(name="star", private=True)
    fan_token, star_token = token_for(fan), token_for(star)
    answer = _post(f"/v1/users/{star.id}/relationship", fan_token, action="follow")
    assert answer.status_code == 200
    assert answer.json()["data"] == {
        "outgoing_status": "requested",
        "incoming_status": "none",
        "target_user_is_private": True,
    }
    pending = _get("/v1/users/self/requested-by", star_token).json()["data"]
    assert [u["id"] for u in pending] == [str(fan.id)]
    approved = _post(f"/v1/users/{fan.id}/relationship", star_token, action="approve")
    assert approved.json()["data"]["incoming_status"] == "followed_by"
    assert edges(fan.id, star.id) == ("active", "active")
    assert user_counts(user_id=star.id)["followed_by"] == 1

    wrong = _post(f"/v1/users/{star.id}/relationship", fan_token, action="poke")
    assert wrong.status_code == 400
    assert wrong.json()["meta"]["error_message"].startswith("action must be one of: follow")
    missing = _post(f"/v1/users/{star.id}/relationship", fan_token)
    assert missing.status_code == 400
    itself = _post(f"/v1/users/{fan.id}/relationship", fan_token, action="follow")
    assert (
        itself.json()["meta"]["error_message"] == "a relationship needs another user, not yourself"
    )
    no_scope = _post(
        f"/v1/users/{star.id}/relationship", token_for(fan, "basic"), action="unfollow"
    )
    assert no_scope.status_code == 400
    assert no_scope.json()["meta"]["error_type"] == "OAuthPermissionsException"
    assert edges(fan.id, star.id) == ("active", "active")
    again = _post(f"/v1/users/{fan.id}/relationship", star_token, action="approve")
    assert again.status_code == 400
    assert again.json()["meta"]["error_message"] == "there is no pending request from this user"


# Roles a viewer can have toward an account, and what each may get from every {id} route.
ROLES = ("anonymous", "owner", "follower", "stranger", "blocked", "requester")


def _setup_roles(make_user, token_for, *, private: bool) -> tuple[User, dict[str, Any]]:  # type: ignore[no-untyped-def]
    owner = make_user(name="owner", private=private)
    follower, stranger, blocked, requester = (make_user(name=r) for r in ROLES[2:])
    if private:
        graph.follow(follower_id=follower.id, target_id=owner.id)
        graph.approve(owner_id=owner.id, requester_id=follower.id)
        graph.follow(follower_id=requester.id, target_id=owner.id)
    else:
        graph.follow(follower_id=follower.id, target_id=owner.id)
        # On a public account a requester does not exist; they are one more follower.
        graph.follow(follower_id=requester.id, target_id=owner.id)
    graph.block(blocker_id=owner.id, target_id=blocked.id)
    users = {"owner": owner, "follower": follower, "stranger": stranger, "blocked": blocked}
    users["requester"] = requester
    tokens = {role: token_for(user) for role, user in users.items()} | {"anonymous": None}
    return owner, tokens


def _expected_reads(private: bool) -> dict[str, dict[str, int]]:
    """Status of each read route by role: profile, follows, followed-by."""
    closed = 400 if private else 200
    return {
        "anonymous": {"profile": 200, "lists": closed},
        "owner": {"profile": 200, "lists": 200},
        "follower": {"profile": 200, "lists": 200},
        "stranger": {"profile": 200, "lists": closed},
        "blocked": {"profile": 404, "lists": 404},
        "requester": {"profile": 200, "lists": closed},
    }


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_access_matrix(make_user, token_for, edges, private: bool) -> None:  # type: ignore[no-untyped-def]
    owner, tokens = _setup_roles(make_user, token_for, private=private)
    expected = _expected_reads(private)
    for role in ROLES:
        token = tokens[role]
        profile = _get(f"/v1/users/{owner.id}", token)
        assert profile.status_code == expected[role]["profile"], (role, profile.content)
        for route in ("follows", "followed-by"):
            listing = _get(f"/v1/users/{owner.id}/{route}", token)
            assert listing.status_code == expected[role]["lists"], (role, route, listing.content)
            if listing.status_code == 400:
                assert listing.json()["meta"] == {
                    "code": 400,
                    "error_type": "APINotAllowedError",
                    "error_message": "you cannot view this resource",
                }
        rel = _get(f"/v1/users/{owner.id}/relationship", token)
        rel_expected = {"anonymous": 400, "owner": 400, "blocked": 404}.get(role, 200)
        assert rel.status_code == rel_expected, (role, rel.content)

    before = user_counts(user_id=owner.id)
    # Writes: nobody but the owner answers requests; the blocked one cannot follow.
    for role in ("anonymous", "follower", "stranger", "blocked", "requester"):
        approve = _post(f"/v1/users/{owner.id}/relationship", tokens[role], action="approve")
        assert approve.status_code in {400, 404}, (role, approve.content)
    if private:
        # The requester cannot approve their own request; it stays pending on both shards.
        requester_id = int(_get("/v1/users/self", tokens["requester"]).json()["data"]["id"])
        assert edges(requester_id, owner.id) == ("requested", "requested")
    blocked_follow = _post(f"/v1/users/{owner.id}/relationship", tokens["blocked"], action="follow")
    assert blocked_follow.status_code == 404
    anonymous_follow = _post(f"/v1/users/{owner.id}/relationship", None, action="follow")
    assert anonymous_follow.json()["meta"]["error_type"] == "OAuthParameterException"
    assert user_counts(user_id=owner.id) == before


def test_reads_keep_working_with_memcached_frozen(make_user, token_for, memcached_pids) -> None:  # type: ignore[no-untyped-def]
    import os
    import signal
    import time

    alice, bob = make_user(name="alice"), make_user(name="bob")
    token = token_for(bob)
    assert _get(f"/v1/users/{alice.id}", token).status_code == 200  # token now cached
    pids = memcached_pids()
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = _get(f"/v1/users/{alice.id}", token)
        search = _get("/v1/users/search", token, q=alice.username)
        elapsed = time.monotonic() - started
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    assert response.status_code == 200
    assert response.json()["data"]["username"] == alice.username
    assert [u["id"] for u in search.json()["data"]] == [str(alice.id)]
    assert elapsed < 5


def test_min_id_returns_only_newer_edges(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    star = make_user(name="star")
    fans = [make_user(name="fan") for _ in range(3)]
    for fan in fans:
        graph.follow(follower_id=fan.id, target_id=star.id)
    token = token_for(star)
    everyone = _get(f"/v1/users/{star.id}/followed-by", token).json()["data"]
    assert [u["id"] for u in everyone] == [str(f.id) for f in reversed(fans)]
    cursor = _get(f"/v1/users/{star.id}/followed-by", token, count="2").json()["pagination"]
    newer = _get(f"/v1/users/{star.id}/followed-by", token, min_id=cursor["next_max_id"])
    assert [u["id"] for u in newer.json()["data"]] == [str(fans[2].id)]
