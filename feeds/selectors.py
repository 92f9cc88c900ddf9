"""Reads of the home feed: Redis first, rebuilt from Postgres when missing or unreachable."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings

from accounts.selectors.cached import followees_cached
from feeds import store
from instaclone.sharding.connections import query_shards, shard_for_user
from instaclone.sharding.redis_client import REDIS_ERRORS

logger = logging.getLogger(__name__)

Entry = tuple[int, int]  # (photo ID, owner ID)


def recent_photos_of(owner_ids: Iterable[int], *, limit: int) -> list[Entry]:
    """Return the newest ``limit`` photos of these owners, merged by ID: one query per server."""
    by_shard: dict[int, list[int]] = {}
    for owner_id in set(owner_ids):
        by_shard.setdefault(shard_for_user(owner_id), []).append(owner_id)
    rows = query_shards(
        "SELECT id, user_id FROM {schema}.photos_photo WHERE user_id = ANY(%s) "
        "ORDER BY id DESC LIMIT %s",
        {shard: [owners, limit] for shard, owners in by_shard.items()},
    )
    # IDs sort by time, so the merge needs no timestamps.
    return sorted(((row[0], row[1]) for row in rows), reverse=True)[:limit]


def feed_rebuild(user_id: int) -> tuple[list[Entry], int]:
    """Return what a user's feed holds, from Postgres, and its floor (see feeds.store)."""
    size = settings.FEED_SIZE
    entries = recent_photos_of(followees_cached(user_id) | {user_id}, limit=size)
    floor = entries[-1][0] - 1 if len(entries) == size else 0
    return entries, floor


def _rebuild_and_store(user_id: int) -> list[Entry]:
    try:
        store.feed_build_begin(user_id)
    except REDIS_ERRORS:
        return feed_rebuild(user_id)[0]
    entries, floor = feed_rebuild(user_id)
    try:
        store.feed_install(user_id, entries, floor=floor)
    except REDIS_ERRORS:
        logger.warning("feed of %s rebuilt but not stored: Redis unreachable", user_id)
    return entries


def _window(
    entries: list[Entry], *, count: int, max_id: int | None, min_id: int | None
) -> list[Entry]:
    chosen = [
        entry
        for entry in entries
        if (max_id is None or entry[0] < max_id) and (min_id is None or entry[0] > min_id)
    ]
    return chosen[:count]


def home_feed_entries(
    *, user_id: int, count: int, max_id: int | None = None, min_id: int | None = None
) -> list[Entry]:
    """Return up to ``count`` entries of a user's home feed, newest first.

    One Redis round trip when the feed is stored; otherwise it is rebuilt from Postgres (one
    query per physical server), stored, and the same entries are answered.
    """
    try:
        page = store.feed_read(user_id, count=count, max_id=max_id, min_id=min_id)
    except REDIS_ERRORS:
        logger.warning("feed of %s read from Postgres: Redis unreachable", user_id)
        return _window(feed_rebuild(user_id)[0], count=count, max_id=max_id, min_id=min_id)
    if page.exists:
        return page.entries
    entries = _rebuild_and_store(user_id)
    return _window(entries, count=count, max_id=max_id, min_id=min_id)
