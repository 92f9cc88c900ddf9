"""Round trips per warm feed read, in-process, net of what a GET /v1/ping costs."""

from __future__ import annotations

from collections import Counter

from django.core.cache import cache
from django.test import Client

from tests.bench.feed.workload import FEED_PATH, HTTP_FOLLOWEES, PING_PATH
from tests.bench.harness import Row
from tests.roundtrips import count_round_trips

GOAL_OWN_TRIPS = 3


def _trips(client: Client, path: str, token: str) -> Counter[str]:
    with count_round_trips() as trips:
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return Counter({kind: trips.get(kind, 0) for kind in ("postgres", "redis", "memcached")})


def _show(counts: Counter[str]) -> str:
    return ", ".join(f"{kind} {counts[kind]}" for kind in ("postgres", "redis", "memcached"))


def round_trips(
    client: Client, readers: dict[int, int], tokens: dict[int, str]
) -> tuple[list[Row], list[str]]:
    rows = []
    cold_note = ""
    for followees, reader in readers.items():
        token = tokens[reader]
        for _ in range(2):
            client.get(FEED_PATH, HTTP_AUTHORIZATION=f"Bearer {token}")
            client.get(PING_PATH, HTTP_AUTHORIZATION=f"Bearer {token}")
        feed = _trips(client, FEED_PATH, token)
        ping = _trips(client, PING_PATH, token)
        own = Counter({kind: feed[kind] - ping[kind] for kind in feed})
        rows.append(
            Row(
                benchmark=f"feed round trips per warm read, {followees:,} followees",
                subject=f"feed's own: {_show(own)} = {sum(own.values())}",
                baseline=f"request total {sum(feed.values())} (ping alone: {_show(ping)})",
                ratio=float(sum(own.values())),
                spread="counted",
                goal=f"<= {GOAL_OWN_TRIPS} own",
                met=sum(own.values()) <= GOAL_OWN_TRIPS,
                details={"feed": dict(feed), "ping": dict(ping), "own": dict(own)},
            )
        )
        if followees == HTTP_FOLLOWEES:
            cache.clear()
            cold = _trips(client, FEED_PATH, token)
            cold_note = (
                f"The same read with Memcached just flushed ({followees} followees, "
                f"counted the same way): {_show(cold)}, total {sum(cold.values())}."
            )
    notes = [
        "Round trips are counted in-process with the Django test Client and "
        "`tests/roundtrips.count_round_trips` (Postgres statements on every thread, Redis "
        "commands/pipelines/scripts, Memcached cache calls). The feed's own work is the "
        "request total minus a GET /v1/ping with the same token read the same way, which "
        "holds what every API request pays: the token lookup (one Memcached get while "
        "cached) and the rate-limit counter (one Redis pipeline). " + cold_note
    ]
    return rows, notes
