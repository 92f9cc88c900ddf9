"""The home feed: through nginx against /v1/ping, growth with followees, a naive one-table
feed, round trips per read, and the fan-out of one photo to 10,000 stored feeds.

1. ``GET /v1/users/self/feed`` (30 items, 100 followees) and ``GET /v1/ping`` through nginx and
   both Gunicorns under ``wrk`` (keep-alive), interleaved rounds: requests per second and p99,
   warm and with Memcached flushed before the round. Round trips per warm read, in-process.
2. In-process reads (Django test Client) at 10, 100 and 1,000 followees, interleaved, and the
   usual clone's feed on one unsharded table with the same photos (``IN (followees) ORDER BY
   created DESC LIMIT 30`` plus one author query and the same JSON list).
3. ``photo_fanout`` over every batch for 10,000 followers with stored feeds, against one ZADD
   round trip per follower on the same keys.

Everything made here (users, rows, feeds, the naive tables) is deleted at the end.
"""

from __future__ import annotations

import time
from typing import Any

from django.test import Client

from tests.bench.feed.data import Made, cleanup, follow, issue_tokens, make_users, post_photos
from tests.bench.feed.fanout import fanout
from tests.bench.feed.growth import growth_and_naive, make_naive_tables
from tests.bench.feed.nginx import through_nginx
from tests.bench.feed.round_trips import round_trips
from tests.bench.feed.workload import (
    FANOUT_FOLLOWERS,
    FEED_COUNT,
    FEED_PATH,
    GROWTH,
    HTTP_FOLLOWEES,
    PHOTOS_PER_FOLLOWEE,
)
from tests.bench.harness import BenchResult, Row


def run() -> BenchResult:
    """Build the data, measure the three parts, delete everything."""
    made = Made()
    rows: list[Row] = []
    notes: list[str] = []
    details: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        followees = make_users(made, GROWTH[-1], "f")
        readers = dict(zip(GROWTH, make_users(made, len(GROWTH), "r"), strict=True))
        made.feeds.extend(readers.values())
        follows = {readers[n]: followees[:n] for n in GROWTH}
        follow(follows)
        posted = post_photos(
            made,
            followees,
            rounds=PHOTOS_PER_FOLLOWEE,
            likers=followees,
            fan=readers[HTTP_FOLLOWEES],
        )
        tokens = issue_tokens(made, list(readers.values()))
        make_naive_tables(made, posted, follows)
        client = Client(HTTP_HOST="127.0.0.1")
        for reader in readers.values():  # the first read rebuilds the feed from Postgres
            body = client.get(FEED_PATH, HTTP_AUTHORIZATION=f"Bearer {tokens[reader]}").json()
            if len(body.get("data", [])) != FEED_COUNT:
                raise RuntimeError(f"feed of reader {reader} is not full: {body}")
        setup = time.perf_counter() - started

        part, part_notes, details["http"] = through_nginx(tokens[readers[HTTP_FOLLOWEES]])
        rows += part
        notes += part_notes
        part, part_notes = round_trips(client, readers, tokens)
        rows += part
        notes += part_notes
        part, part_notes, details["growth_s"] = growth_and_naive(client, readers, tokens)
        rows += part
        notes += part_notes
        part, part_notes = fanout(made)
        rows += part
        notes += part_notes
        notes.append(
            f"Setup: {len(followees):,} followees + {len(readers)} readers bulk-inserted, "
            f"{len(posted):,} photo rows with likes and comments on their owners' shards, "
            f"follow edges both sides, in {setup:.0f} s; then {FANOUT_FOLLOWERS + 1:,} more "
            "users for the fan-out. All users, rows, feeds and the naive tables are deleted at "
            "the end (cache entries are left to expire)."
        )
    finally:
        cleanup(made)
    return BenchResult(name="feed", rows=rows, notes=notes, details=details)
