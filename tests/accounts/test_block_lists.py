"""People lists hide whoever blocked the viewer and whomever the viewer blocked."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.test import Client

from accounts.models import User
from accounts.services import graph
from instaclone.sharding.connections import user_shard
from photos.models import Photo
from photos.services.likes import like


@dataclass
class World:
    """An owner whose lists hold five people; the viewer blocked one and another blocked them."""

    owner: User
    viewer: User
    people: dict[str, User]  # a, x (blocked the viewer), b, y (the viewer blocked), c
    prefix: str


def _world(make_user: Any) -> World:
    prefix = f"bl{secrets.token_hex(3)}"
    owner, viewer = make_user(name="owner"), make_user(name="viewer")
    people = {key: make_user(name=f"{prefix}{key}") for key in "axbyc"}
    for person in people.values():  # oldest first: a list shows c, y, b, x, a
        graph.follow(follower_id=person.id, target_id=owner.id)
        graph.follow(follower_id=owner.id, target_id=person.id)
    graph.block(blocker_id=people["x"].id, target_id=viewer.id)
    graph.block(blocker_id=viewer.id, target_id=people["y"].id)
    return World(owner=owner, viewer=viewer, people=people, prefix=prefix)


def _api(path: str, token: str | None = None, **query: str) -> dict[str, Any]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = Client().get(path, query, **headers)
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def _names(data: list[dict[str, Any]]) -> list[str]:
    return [person["username"] for person in data]


def _usernames(world: World, keys: str) -> list[str]:
    return [world.people[key].username for key in keys]


def _web(user: User, path: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_follows_and_followers_hide_blocks_both_ways_and_page_on(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    world = _world(make_user)
    token = token_for(world.viewer)
    for path in (f"/v1/users/{world.owner.id}/follows", f"/v1/users/{world.owner.id}/followed-by"):
        first = _api(path, token, count="2")
        assert _names(first["data"]) == _usernames(world, "cb")
        cursor = first["pagination"]["next_max_id"]
        rest = _api(path, token, count="2", max_id=cursor)
        assert _names(rest["data"]) == _usernames(world, "a")
        assert rest["pagination"] == {}
        # Nobody else is hidden from: the owner and strangers still see all five.
        assert _names(_api(path, count="5")["data"]) == _usernames(world, "cybxa")
        assert _names(_api(path, token_for(world.owner))["data"]) == _usernames(world, "cybxa")


def test_web_followers_and_following_hide_blocks_both_ways(make_user) -> None:  # type: ignore[no-untyped-def]
    world = _world(make_user)
    for page in ("followers", "following"):
        shown = _web(world.viewer, f"/{world.owner.username}/{page}/")
        for key in "abc":
            assert world.people[key].username in shown
        for key in "xy":
            assert world.people[key].username not in shown
        as_owner = _web(world.owner, f"/{world.owner.username}/{page}/")
        assert all(person.username in as_owner for person in world.people.values())


def test_likers_hide_blocks_both_ways(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    world = _world(make_user)
    with user_shard(world.owner.id):
        photo_id = Photo.objects.create(user_id=world.owner.id).id
    for person in world.people.values():
        like(user_id=person.id, photo_id=photo_id)
    likers = _api(f"/v1/media/{photo_id}/likes", token_for(world.viewer))["data"]
    assert _names(likers) == _usernames(world, "cba")
    assert _names(_api(f"/v1/media/{photo_id}/likes")["data"]) == _usernames(world, "cybxa")
    # The photo's four latest likers, as its media object shows them (the count stays exact).
    media = _api(f"/v1/media/{photo_id}", token_for(world.viewer))["data"]
    assert media["likes"]["count"] == 5
    assert _names(media["likes"]["data"]) == _usernames(world, "cb")
    assert _names(_api(f"/v1/media/{photo_id}")["data"]["likes"]["data"]) == _usernames(
        world, "cybx"
    )


def test_search_hides_blocks_both_ways(make_user, token_for) -> None:  # type: ignore[no-untyped-def]
    world = _world(make_user)
    found = _api("/v1/users/search", token_for(world.viewer), q=world.prefix, count="50")["data"]
    assert sorted(_names(found)) == sorted(_usernames(world, "abc"))
    everyone = _api("/v1/users/search", q=world.prefix, count="50")["data"]
    assert sorted(_names(everyone)) == sorted(_usernames(world, "axbyc"))
    shown = _web(world.viewer, f"/accounts/search/?q={world.prefix}")
    assert [key for key in "axbyc" if world.people[key].username in shown] == ["a", "b", "c"]
