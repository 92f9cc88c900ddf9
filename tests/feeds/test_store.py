"""The Redis feed structure: order, floor, cap, pending builds, cancellations, encoding."""

from __future__ import annotations

import pytest
from django.test import override_settings

from feeds import store
from instaclone.sharding.redis_client import redis_client

USER = 987_654_321  # a user ID no test account gets; the keys are deleted after each test


@pytest.fixture(autouse=True)
def _clean() -> None:
    store.feed_forget(USER)
    yield
    store.feed_forget(USER)


def _ids(entries: list[tuple[int, int]]) -> list[int]:
    return [photo_id for photo_id, _ in entries]


def test_members_keep_photo_and_owner() -> None:
    big = (1 << 63) - 1
    assert store.unpack(store.pack(big, 42)) == (big, 42)
    assert store.pack(5, 1) < store.pack(6, 0)  # bytes order is photo ID order


def test_a_feed_that_does_not_exist_reads_as_missing_and_takes_no_fan_out() -> None:
    page = store.feed_read(USER, count=10)
    assert (page.exists, page.entries) == (False, [])
    assert store.feeds_add([USER], photo_id=100, owner_id=7) == 0
    assert store.feed_floor(USER) is None
    assert redis_client().exists(f"feed:{USER}") == 0


def test_installed_feed_reads_newest_first_with_cursors() -> None:
    entries = [(i, 7) for i in range(50, 0, -1)]
    assert store.feed_install(USER, entries, floor=0) is False  # never marked as building
    store.feed_build_begin(USER)
    assert store.feed_install(USER, entries, floor=0) is True
    assert _ids(store.feed_read(USER, count=5).entries) == [50, 49, 48, 47, 46]
    assert _ids(store.feed_read(USER, count=3, max_id=46).entries) == [45, 44, 43]
    assert _ids(store.feed_read(USER, count=100, min_id=47).entries) == [50, 49, 48]
    assert _ids(store.feed_read(USER, count=100, max_id=10, min_id=7).entries) == [9, 8]
    assert store.feed_read(USER, count=100).exists is True


@override_settings(FEED_SIZE=5)
def test_the_cap_drops_the_oldest_and_raises_the_floor() -> None:
    store.feed_build_begin(USER)
    store.feed_install(USER, [(30, 1), (20, 1), (10, 1)], floor=0)
    for photo_id in (40, 50, 60):
        assert store.feeds_add([USER], photo_id=photo_id, owner_id=2) == 1
    assert _ids(store.feed_members(USER)) == [60, 50, 40, 30, 20]
    assert store.feed_floor(USER) == 10
    # Below the floor nothing enters: a rebuild would not have it either.
    assert store.feeds_add([USER], photo_id=5, owner_id=2) == 0
    # Above it, an old photo enters and is the first the cap drops again.
    assert store.feed_backfill(USER, [(12, 3), (70, 3)]) == 2
    assert _ids(store.feed_members(USER)) == [70, 60, 50, 40, 30]
    assert store.feed_floor(USER) == 20


def test_drops_remove_one_owner_or_one_photo() -> None:
    store.feed_build_begin(USER)
    store.feed_install(USER, [(5, 1), (4, 2), (3, 1), (2, 2)], floor=0)
    assert store.feed_drop_owner(USER, 1) == 2
    assert store.feed_members(USER) == [(4, 2), (2, 2)]
    store.feeds_drop_photo([USER], photo_id=4, owner_id=2)
    assert store.feed_members(USER) == [(2, 2)]


def test_photos_fanned_out_during_a_rebuild_are_merged_in() -> None:
    store.feed_build_begin(USER)
    assert store.feeds_add([USER], photo_id=90, owner_id=3) == 0  # pending, not yet a feed
    assert store.feed_read(USER, count=10).exists is False
    assert store.feed_install(USER, [(80, 1), (70, 1)], floor=0) is True
    assert store.feed_members(USER) == [(90, 3), (80, 1), (70, 1)]
    assert redis_client().exists(f"feed:{USER}:pending", f"feed:{USER}:building") == 0


@pytest.mark.parametrize("change", ["drop_owner", "drop_photo"])
def test_a_drop_during_a_rebuild_cancels_its_install(change: str) -> None:
    store.feed_build_begin(USER)
    if change == "drop_owner":
        store.feed_drop_owner(USER, 1)
    else:
        store.feeds_drop_photo([USER], photo_id=80, owner_id=1)
    assert store.feed_install(USER, [(80, 1)], floor=0) is False
    assert store.feed_read(USER, count=10).exists is False


@override_settings(FEED_SIZE=3)
def test_a_backfill_during_a_rebuild_is_merged_in_above_the_floor() -> None:
    store.feed_build_begin(USER)
    assert store.feed_backfill(USER, [(85, 4), (60, 4), (10, 4)]) == 0  # waits as pending
    assert store.feed_install(USER, [(80, 1), (70, 1), (50, 1)], floor=49) is True
    assert store.feed_members(USER) == [(85, 4), (80, 1), (70, 1)]
    assert store.feed_floor(USER) == 60


def test_a_full_feed_stays_in_the_compact_encoding() -> None:
    size = 300
    store.feed_build_begin(USER)
    store.feed_install(USER, [((1 << 62) + i, 12345) for i in range(size, 0, -1)], floor=0)
    client = redis_client()
    assert client.zcard(f"feed:{USER}") == size
    assert client.object("encoding", f"feed:{USER}") == b"listpack"
    # 16-byte members: about 20 bytes an entry in the listpack.
    assert client.memory_usage(f"feed:{USER}") < 40 * size


def test_stored_feeds_expire() -> None:
    store.feed_build_begin(USER)
    store.feed_install(USER, [(3, 1)], floor=0)
    client = redis_client()
    assert 0 < client.ttl(f"feed:{USER}") <= 30 * 24 * 3600
    assert 0 < client.ttl(f"feed:{USER}:floor") <= 30 * 24 * 3600
    store.feeds_add([USER], photo_id=4, owner_id=1)
    assert client.ttl(f"feed:{USER}") > 0
