"""A feed rebuilt from Postgres equals the one the jobs kept in Redis; Redis or Memcached down."""

from __future__ import annotations

import random

from django.core.cache import cache
from django.test import Client, override_settings

from accounts.services import graph
from feeds import services, store
from feeds.selectors import feed_rebuild, home_feed_entries
from instaclone.sharding.connections import shard_for_user, target_for_shard
from instaclone.sharding.redis_client import redis_client
from photos.services.comments import photo_delete
from tests.roundtrips import count_round_trips


def _settle(one, other) -> None:  # type: ignore[no-untyped-def]
    services.follow_sync(follower_id=one.id, target_id=other.id)
    services.follow_sync(follower_id=other.id, target_id=one.id)


@override_settings(FEED_SIZE=12)
def test_rebuilt_feeds_equal_the_kept_ones_on_random_graphs(people, post_row) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(2011)
    users = people(8)
    for user in users:
        home_feed_entries(user_id=user.id, count=1)  # every feed stored from the start
    photos: dict[int, list[int]] = {user.id: [] for user in users}
    for _ in range(160):
        actor, other = rng.sample(users, 2)
        roll = rng.random()
        if roll < 0.45:
            photo = post_row(actor)
            photos[actor.id].append(photo)
            services.photo_fanout(photo_id=photo, owner_id=actor.id)
        elif roll < 0.7:
            graph.follow(follower_id=actor.id, target_id=other.id)
            services.follow_sync(follower_id=actor.id, target_id=other.id)
        elif roll < 0.82:
            graph.unfollow(follower_id=actor.id, target_id=other.id)
            services.follow_sync(follower_id=actor.id, target_id=other.id)
        elif roll < 0.88:
            graph.block(blocker_id=actor.id, target_id=other.id)
            graph.unblock(blocker_id=actor.id, target_id=other.id)
            _settle(actor, other)
        elif photos[actor.id]:
            gone = photos[actor.id].pop(rng.randrange(len(photos[actor.id])))
            photo_delete(user_id=actor.id, photo_id=gone)
            services.photo_unfan(photo_id=gone, owner_id=actor.id)
    for user in users:
        kept = store.feed_members(user.id)
        kept_floor = store.feed_floor(user.id) or 0
        rebuilt, floor = feed_rebuild(user.id)
        # The kept feed is exactly every followed photo above its floor, newest first.
        assert kept == [entry for entry in rebuilt if entry[0] > kept_floor], user.id
        if len(rebuilt) < 12:
            assert kept == rebuilt and floor == 0
        store.feed_forget(user.id)
        assert home_feed_entries(user_id=user.id, count=50) == rebuilt


def test_missing_feed_rebuilt_one_query_a_server(people, post_row, edge, jobs_settle) -> None:  # type: ignore[no-untyped-def]
    viewer, *friends = people(4)
    for friend in friends:
        edge(viewer.id, friend.id)
    expected = sorted(((post_row(friend), friend.id) for friend in friends), reverse=True)
    jobs_settle()  # the follows' backfill jobs would cancel the rebuild's install
    store.feed_forget(viewer.id)
    home_feed_entries(user_id=viewer.id, count=1)  # warms the cached follows
    store.feed_forget(viewer.id)
    with count_round_trips() as trips:
        assert home_feed_entries(user_id=viewer.id, count=10) == expected
    servers = {target_for_shard(shard_for_user(user.id)).alias for user in (viewer, *friends)}
    assert trips["postgres"] == len(servers)  # one UNION ALL per physical server
    assert store.feed_members(viewer.id) == expected


def test_redis_frozen_feed_from_postgres(people, post_row, edge, token_for, frozen) -> None:  # type: ignore[no-untyped-def]
    import time

    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photo = post_row(friend)
    token = token_for(viewer)
    client = redis_client()
    client.ping()
    with frozen(int(client.info("server")["process_id"])):
        started = time.monotonic()
        response = Client().get("/v1/users/self/feed", HTTP_AUTHORIZATION=f"Bearer {token}")
        elapsed = time.monotonic() - started
    assert response.status_code == 200, response.content
    assert [m["id"] for m in response.json()["data"]] == [f"{photo}_{friend.id}"]
    assert elapsed < 10


def test_memcached_frozen_feed_from_dbs(
    people, post_row, edge, token_for, frozen, memcached_pids
) -> None:  # type: ignore[no-untyped-def]
    viewer, friend = people(2)
    edge(viewer.id, friend.id)
    photos = [post_row(friend) for _ in range(6)]
    token = token_for(viewer)
    cache.clear()
    pids = memcached_pids()
    with frozen(pids[0]), frozen(pids[1]):
        response = Client().get("/v1/users/self/feed", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert len(response.json()["data"]) == len(photos)
