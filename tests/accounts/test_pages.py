"""Profile pages and the follow graph in the browser."""

from __future__ import annotations

from django.test import Client

from accounts.selectors.graph import user_counts
from accounts.services import graph


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_profile_shows_counts_and_a_follow_button_that_works(make_user) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_user(name="alice"), make_user(name="bob")
    client = _client(alice)
    page = client.get(f"/{bob.username}/")
    assert page.status_code == 200
    assert b'id="follow-button" class="primary">Follow</button>' in page.content
    response = client.post(
        f"/accounts/relationship/{bob.id}/", {"action": "follow", "next": f"/{bob.username}/"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/{bob.username}/"
    page = client.get(f"/{bob.username}/")
    assert b'<strong id="followed-by-count">1</strong> followers' in page.content
    assert b'value="unfollow" id="follow-button">Following</button>' in page.content
    followers = client.get(f"/{bob.username}/followers/")
    assert alice.username.encode() in followers.content


def test_private_account_lists_are_closed_until_approved(make_user) -> None:  # type: ignore[no-untyped-def]
    fan, star = make_user(name="fan"), make_user(name="star", private=True)
    fan_client = _client(fan)
    assert fan_client.get(f"/{star.username}/following/").status_code == 403
    assert b"This account is private" in fan_client.get(f"/{star.username}/").content
    fan_client.post(f"/accounts/relationship/{star.id}/", {"action": "follow"})
    assert b">Requested</button>" in fan_client.get(f"/{star.username}/").content

    star_client = _client(star)
    pending = star_client.get("/accounts/requests/")
    assert fan.username.encode() in pending.content
    star_client.post(f"/accounts/relationship/{fan.id}/", {"action": "approve"})
    assert user_counts(user_id=star.id)["followed_by"] == 1
    assert fan_client.get(f"/{star.username}/following/").status_code == 200


def test_blocked_viewer_gets_not_found(make_user) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_user(name="alice"), make_user(name="bob")
    graph.block(blocker_id=alice.id, target_id=bob.id)
    bob_client = _client(bob)
    assert bob_client.get(f"/{alice.username}/").status_code == 404
    assert bob_client.get(f"/{alice.username}/followers/").status_code == 404
    assert b'value="unblock">Unblock</button>' in _client(alice).get(f"/{bob.username}/").content


def test_bad_relationship_posts_are_refused(make_user) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_user(name="alice"), make_user(name="bob")
    client = _client(alice)
    bad = client.post(f"/accounts/relationship/{bob.id}/", {"action": "poke"})
    assert bad.status_code == 400
    assert b"Unknown action. Choose one of: follow, unfollow, block" in bad.content
    assert client.get(f"/accounts/relationship/{bob.id}/").status_code == 405
    # An outside "next" is not followed.
    away = client.post(
        f"/accounts/relationship/{bob.id}/", {"action": "follow", "next": "https://evil.example/"}
    )
    assert away["Location"] == "/"
    anonymous = Client().post(f"/accounts/relationship/{bob.id}/", {"action": "follow"})
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/accounts/login/")
    checked = Client(enforce_csrf_checks=True)
    checked.force_login(alice)
    assert (
        checked.post(f"/accounts/relationship/{bob.id}/", {"action": "follow"}).status_code == 403
    )
    assert user_counts(user_id=alice.id)["follows"] == 1  # only the one good follow


def test_unknown_profile_and_bad_cursor_are_not_found(make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user(name="alice")
    client = Client()
    assert client.get("/no_such_user_here_42/").status_code == 404
    assert client.get(f"/{alice.username}/followers/?max_id=abc").status_code == 404
    assert client.get(f"/{alice.username}/followers/").status_code == 200
