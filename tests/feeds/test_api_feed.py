"""GET /v1/users/self/feed and /v1/media/popular: shapes, cursors, bad input, round trips."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from feeds import popular, services
from feeds.store import pack
from instaclone.sharding.connections import shard_for_user, target_for_shard
from instaclone.sharding.instrumentation import count_queries
from instaclone.sharding.redis_client import redis_client
from photos.services import comments, likes
from tests.roundtrips import count_round_trips


def _get(path: str, token: str | None = None) -> tuple[int, Any]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = Client().get(path, **headers)
    return response.status_code, response.json()


def _ids(body: dict[str, Any]) -> list[int]:
    return [int(media["id"].split("_")[0]) for media in body["data"]]


def test_feed_shows_followees_and_own_newest_first(people, post_row, edge, token_for) -> None:  # type: ignore[no-untyped-def]
    viewer, friend, stranger = people(3)
    edge(viewer.id, friend.id)
    photos = [post_row(friend, caption="hi #sun"), post_row(viewer), post_row(stranger)]
    status, body = _get("/v1/users/self/feed", token_for(viewer))
    assert status == 200, body
    assert _ids(body) == [photos[1], photos[0]]
    media = body["data"][1]
    assert media["id"] == f"{photos[0]}_{friend.id}"
    assert media["user"]["username"] == friend.username
    assert media["caption"]["text"] == "hi #sun"
    assert set(media["images"]) == {"standard_resolution", "low_resolution", "thumbnail"}
    assert media["images"]["thumbnail"]["url"].startswith("http")
    assert media["likes"] == {"count": 0, "data": []}
    assert media["user_has_liked"] is False
    assert body["pagination"] == {}
    assert body["meta"] == {"code": 200}


def test_pages_follow_next_url(people, post_row, edge, token_for) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photos = [post_row(friend) for _ in range(5)][::-1]
    token = token_for(viewer)
    status, first = _get("/v1/users/self/feed?count=2", token)
    assert status == 200
    assert _ids(first) == photos[:2]
    assert first["pagination"]["next_max_id"] == str(photos[1])
    assert first["pagination"]["next_url"].startswith("http://testserver/v1/users/self/feed?")
    _, second = _get(f"/v1/users/self/feed?count=2&max_id={photos[1]}", token)
    assert _ids(second) == photos[2:4]
    _, newer = _get(f"/v1/users/self/feed?min_id={photos[2]}", token)
    assert _ids(newer) == photos[:2]
    _, last = _get(f"/v1/users/self/feed.json?count=2&max_id={photos[3]}", token)
    assert _ids(last) == photos[4:]
    assert last["pagination"] == {}


@pytest.mark.parametrize(
    ("query", "code", "error_type"),
    [
        ("", 400, "OAuthParameterException"),
        ("?access_token=nope", 400, "OAuthAccessTokenException"),
    ],
)
def test_the_feed_needs_a_valid_token(query: str, code: int, error_type: str, live_db) -> None:  # type: ignore[no-untyped-def]
    status, body = _get(f"/v1/users/self/feed{query}")
    assert status == code
    assert body["meta"]["error_type"] == error_type


@pytest.mark.parametrize(
    "query", ["count=0", "count=abc", "max_id=junk", "min_id=-3", "max_id=" + "9" * 30]
)
def test_bad_cursors_and_counts_are_refused(query: str, people, token_for) -> None:  # type: ignore[no-untyped-def]
    (viewer,) = people(1)
    status, body = _get(f"/v1/users/self/feed?{query}", token_for(viewer))
    assert status == 400, body
    assert body["meta"]["error_type"] == "APIInvalidParametersError"


def test_likes_comments_blocks_deletes_show_next_read(people, post_row, edge, token_for) -> None:  # type: ignore[no-untyped-def]
    from accounts.services import graph
    from photos.services.comments import photo_delete

    viewer, friend, fan = people(3)
    edge(viewer.id, friend.id)
    kept, doomed = post_row(friend), post_row(friend)
    token = token_for(viewer)
    _get("/v1/users/self/feed", token)  # warm every cache
    likes.like(user_id=fan.id, photo_id=kept)
    likes.like(user_id=viewer.id, photo_id=kept)
    comments.comment_create(user_id=fan.id, photo_id=kept, text="nice")
    _, body = _get("/v1/users/self/feed", token)
    media = next(m for m in body["data"] if m["id"].startswith(str(kept)))
    assert media["likes"]["count"] == 2
    assert {u["username"] for u in media["likes"]["data"]} == {viewer.username, fan.username}
    assert media["user_has_liked"] is True
    assert [(c["text"], c["from"]["username"]) for c in media["comments"]["data"]] == [
        ("nice", fan.username)
    ]
    photo_delete(user_id=friend.id, photo_id=doomed)  # before its unfan job has run
    _, body = _get("/v1/users/self/feed", token)
    assert _ids(body) == [kept]
    graph.block(blocker_id=friend.id, target_id=viewer.id)  # before any feed job has run
    _, body = _get("/v1/users/self/feed", token)
    assert _ids(body) == []


def test_warm_feed_round_trips_fixed(reader_of, token_for) -> None:  # type: ignore[no-untyped-def]
    counts = {}
    for followees in (2, 12):
        token = token_for(reader_of(followees))
        _get("/v1/users/self/feed", token)
        _get("/v1/users/self/feed", token)
        with count_round_trips() as trips:
            status, body = _get("/v1/users/self/feed", token)
        assert status == 200 and len(body["data"]) == 6
        counts[followees] = dict(trips)
    # The feed's own work is one Redis read and one get_many; the token costs one cache get
    # and the rate limit one Redis pipeline, as on every API request.
    assert counts[2] == counts[12] == {"postgres": 0, "redis": 2, "memcached": 2}


def test_a_cold_cache_reads_each_server_once(people, post_row, edge, token_for) -> None:  # type: ignore[no-untyped-def]
    viewer, *friends = people(5)
    for friend in friends:
        edge(viewer.id, friend.id)
        post_row(friend)
    token = token_for(viewer)
    _get("/v1/users/self/feed", token)
    cache.clear()
    with count_queries() as per_alias:
        status, body = _get("/v1/users/self/feed", token)
    assert status == 200 and len(body["data"]) == 4
    # The users database: the token, then the photos' owners. Each shard server: one query for
    # all the photos it holds, and the viewer's followees and blocks from the viewer's server.
    expected: Counter[str] = Counter({"default": 2})
    for alias in {target_for_shard(shard_for_user(friend.id)).alias for friend in friends}:
        expected[alias] += 1
    expected[target_for_shard(shard_for_user(viewer.id)).alias] += 2
    assert per_alias == expected


def test_popular_ranks_liked_public_photos(people, post_row, token_for) -> None:  # type: ignore[no-untyped-def]
    from accounts.services import graph

    viewer, star, quiet, blocked = people(4)
    (hidden,) = people(1, private=True)
    fans = people(3)
    top, second, never, secret, rude = (
        post_row(star),
        post_row(quiet),
        post_row(quiet),
        post_row(hidden),
        post_row(blocked),
    )
    for fan in fans:
        likes.like(user_id=fan.id, photo_id=top)
        likes.like(user_id=fan.id, photo_id=secret)
        likes.like(user_id=fan.id, photo_id=rude)
    likes.like(user_id=fans[0].id, photo_id=second)
    graph.block(blocker_id=viewer.id, target_id=blocked.id)
    # Other tests' liked photos share the window: rank deep enough to see all of ours.
    with override_settings(POPULAR_SIZE=5000):
        ranked = popular.popular_compute()
    ours = [photo for photo, _ in ranked if photo in {top, second, never, secret, rude}]
    assert ours.index(top) < ours.index(second)
    assert never not in ours and secret not in ours  # no likes; private account
    # Readers get the stored ranking, hydrated for them: blocks and privacy apply again.
    client = redis_client()
    owners = {top: star, second: quiet, secret: hidden, rude: blocked}
    stored = b"".join(pack(photo, owners[photo].id) for photo in (top, rude, second, secret))
    client.set(popular.KEY, stored, ex=60)
    try:
        status, body = _get("/v1/media/popular?count=100", token_for(viewer))
        assert status == 200, body
        assert _ids(body) == [top, second]  # the viewer blocked rude's owner; secret is private
        status, anonymous = _get("/v1/media/popular?count=2")
        assert status == 200
        assert _ids(anonymous) == [top, rude]
    finally:
        client.delete(popular.KEY)
    assert _get("/v1/media/popular?count=0")[0] == 400
    assert _get("/v1/media/popular?count=x")[0] == 400


def test_feed_jobs_are_idempotent_under_repeats(people, post_row, edge) -> None:  # type: ignore[no-untyped-def]
    author, reader = people(2)
    edge(reader.id, author.id)
    photo = post_row(author)
    for _ in range(3):
        services.photo_fanout(photo_id=photo, owner_id=author.id)
        services.follow_sync(follower_id=reader.id, target_id=author.id)
    from feeds.selectors import home_feed_entries

    assert home_feed_entries(user_id=reader.id, count=10) == [(photo, author.id)]


def test_going_private_hides_photos_next_read(people, token_for) -> None:  # type: ignore[no-untyped-def]
    from accounts.services.users import user_update_profile
    from tests.photos.test_media import _jpeg, _upload
    from tests.worker_queue import jobs_settle

    owner, stranger, follower = people(3)
    token = token_for(owner)
    posted = _upload(token, _jpeg(7), caption="#goingprivate now").json()
    assert posted["meta"]["code"] == 200, posted
    photo = int(posted["data"]["id"].split("_")[0])
    jobs_settle()  # the tag index is a job of the photo.posted event
    url = "/v1/tags/goingprivate/media/recent"
    assert _ids(_get(url, token_for(stranger))[1]) == [photo]
    public_url = _get(url, token_for(stranger))[1]["data"][0]["images"]["thumbnail"]["url"]
    from accounts.services import graph

    graph.follow(follower_id=follower.id, target_id=owner.id)
    user_update_profile(user_id=owner.id, is_private=True)
    assert _ids(_get(url, token_for(stranger))[1]) == []
    assert _get(f"/v1/media/{photo}", token_for(stranger))[0] == 400
    seen = _get(url, token_for(follower))[1]
    assert _ids(seen) == [photo]
    # A private owner's photos get the short-lived URLs from then on.
    assert seen["data"][0]["images"]["thumbnail"]["url"] != public_url


def test_list_answers_match_their_declared_schema(people, post_row, edge, token_for) -> None:  # type: ignore[no-untyped-def]
    from instaclone.api.envelope import PagedEnvelope
    from instaclone.sharding.connections import user_shard
    from photos.api.media import Media
    from photos.models import Photo
    from photos.services.tags import tags_index

    viewer, friend, fan = people(3)
    edge(viewer.id, friend.id)
    photo = post_row(friend, caption="schema #checked")
    with user_shard(friend.id):
        Photo.objects.filter(id=photo).update(tags=["checked"])  # so the delete unindexes it
    tags_index(photo_id=photo, owner_id=friend.id, tags=["checked"])
    likes.like(user_id=fan.id, photo_id=photo)
    likes.like(user_id=viewer.id, photo_id=photo)
    comments.comment_create(user_id=fan.id, photo_id=photo, text="fits")
    token = token_for(viewer)
    for path in (
        "/v1/users/self/feed",
        f"/v1/users/{friend.id}/media/recent",
        "/v1/users/self/media/liked",
        "/v1/tags/checked/media/recent",
    ):
        status, body = _get(path, token)
        assert status == 200, (path, body)
        # An empty list would fit any item schema: each list must carry the photo.
        assert _ids(body) == [photo], (path, body)
        PagedEnvelope[Media].model_validate(body)
    _, feed = _get("/v1/users/self/feed", token)
    assert feed["data"][0]["comments"]["data"][0]["from"]["username"] == fan.username


def test_banned_owner_leaves_rename_shows(people, post_row, edge, token_for) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photo = post_row(friend)
    token = token_for(viewer)
    _, body = _get("/v1/users/self/feed", token)  # cards cached
    assert body["data"][0]["user"]["full_name"] == ""
    friend.full_name = "Renamed Friend"
    friend.save()
    _, body = _get("/v1/users/self/feed", token)
    assert body["data"][0]["user"]["full_name"] == "Renamed Friend"
    friend.is_active = False
    friend.save()
    _, body = _get("/v1/users/self/feed", token)
    assert _ids(body) == []
    assert _get(f"/v1/media/{photo}", token)[0] == 404
    friend.is_active = True
    friend.save()
    _, body = _get("/v1/users/self/feed", token)
    assert _ids(body) == [photo]
