"""Multi-shard read: rows spread over 8 logical shards on 2 servers against the same rows on one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import connections

from instaclone.sharding.connections import query_shards
from instaclone.sharding.topology import current_topology, schema_name
from tests.bench.harness import (
    BenchResult,
    Row,
    count_round_trips,
    counting_method,
    interleave,
    time_ratio,
    timed,
)

PREFERRED = (1, 2, 3, 4, 40, 41, 42, 43)
BASELINE_SHARD = 5
ROWS_PER_SHARD = 30
CALLS_PER_ROUND = 200
ROUNDS = 11
WARMUP = 1
GOAL = 1.5
USER_OFFSET = 900_000_000  # user IDs far above any test's, so the rows are easy to tell apart
SQL = "SELECT id, user_id, caption FROM {schema}.photos_photo WHERE id = ANY(%s)"


def _pick_shards() -> tuple[int, ...]:
    """Return 8 shards, 4 on each of two servers (PREFERRED when the topology allows)."""
    topology = current_topology()
    if len(topology.servers) < 2:
        raise RuntimeError("the multi-shard benchmark needs at least two shard servers")
    first, second = topology.servers[:2]
    placed = [topology.server_for_shard(s) for s in PREFERRED if s < topology.logical_shards]
    if placed.count(first) == 4 and placed.count(second) == 4:
        return PREFERRED
    pick = [s for s in topology.shards_on(first) if s != BASELINE_SHARD][1:5]
    return tuple(pick + [s for s in topology.shards_on(second) if s != BASELINE_SHARD][1:5])


def _insert(shard: int, count: int, first_index: int) -> list[int]:
    """Insert ``count`` photos on a shard (IDs from its next_id()); return their IDs."""
    shards = current_topology().logical_shards
    alias = current_topology().server_for_shard(shard)
    with connections[alias].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {schema_name(shard)}.photos_photo (user_id, caption, filter_name, "
            "media_key, tags, mentions, location_name, like_count, comment_count) "
            "SELECT %s + %s * g, 'bench photo ' || g, 'Normal', '', '{}', '{}', '', 0, 0 "
            "FROM generate_series(%s::bigint, %s::bigint) AS g "
            "RETURNING id",
            [shard, shards, USER_OFFSET + first_index, USER_OFFSET + first_index + count - 1],
        )
        return [row[0] for row in cursor.fetchall()]


def _delete(rows: dict[int, list[int]]) -> None:
    """Delete the benchmark's rows by ID."""
    for shard, ids in rows.items():
        alias = current_topology().server_for_shard(shard)
        with connections[alias].cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {schema_name(shard)}.photos_photo WHERE id = ANY(%s)", [ids]
            )


def _params(rows: dict[int, list[int]]) -> dict[int, Sequence[Any]]:
    return {shard: [ids] for shard, ids in rows.items()}


def _round_trips(params: dict[int, Sequence[Any]], expected_ids: set[int]) -> dict[str, int]:
    """Run one call under the statement counter; check it returned exactly the rows asked for."""
    with count_round_trips(list(settings.DATABASES)) as counts:
        rows = query_shards(SQL, params)
    got = [row[0] for row in rows]
    assert len(got) == len(expected_ids) and set(got) == expected_ids, "wrong rows returned"
    return dict(counts)


def run() -> BenchResult:
    """Insert the rows, count round trips, time interleaved rounds, then delete the rows."""
    result = BenchResult("shards")
    topology = current_topology()
    shards = _pick_shards()
    subject_rows: dict[int, list[int]] = {}
    baseline_rows: dict[int, list[int]] = {}
    try:
        for shard in shards:
            subject_rows[shard] = _insert(shard, ROWS_PER_SHARD, shard * ROWS_PER_SHARD)
        total = ROWS_PER_SHARD * len(shards)
        baseline_rows[BASELINE_SHARD] = _insert(BASELINE_SHARD, total, 0)
        subject, baseline = _params(subject_rows), _params(baseline_rows)
        first_server = topology.server_for_shard(shards[0])
        one_server = {
            s: p for s, p in subject.items() if topology.server_for_shard(s) == first_server
        }
        all_subject = {i for ids in subject_rows.values() for i in ids}
        subject_trips = _round_trips(subject, all_subject)
        baseline_trips = _round_trips(baseline, set(baseline_rows[BASELINE_SHARD]))

        def calls(params: dict[int, Sequence[Any]]) -> float:
            return timed(lambda: [query_shards(SQL, params) for _ in range(CALLS_PER_ROUND)])

        times = interleave(
            {
                "8 shards": lambda: calls(subject),
                "1 shard": lambda: calls(baseline),
                "4 shards, 1 server": lambda: calls(one_server),
            },
            rounds=ROUNDS,
            warmup=WARMUP,
        )
    finally:
        _delete(subject_rows)
        _delete(baseline_rows)
    servers = {topology.server_for_shard(s) for s in shards}
    baseline_alias = topology.server_for_shard(BASELINE_SHARD)
    trips_ok = subject_trips == {alias: 1 for alias in servers} and baseline_trips == {
        baseline_alias: 1
    }
    ratio = time_ratio(times["8 shards"], times["1 shard"])
    split = time_ratio(times["4 shards, 1 server"], times["1 shard"])

    def per_call(name: str) -> str:
        ordered = sorted(times[name])
        return f"{ordered[len(ordered) // 2] / CALLS_PER_ROUND * 1000:.3f} ms/call"

    result.rows = [
        Row(
            "shards: read time",
            f"{len(shards)} shards / {len(servers)} servers {per_call('8 shards')}",
            f"1 shard {per_call('1 shard')}",
            ratio.median,
            ratio.spread,
            f"<= {GOAL}",
            ratio.median <= GOAL,
            {"per_round_ratio": ratio.per_round, "seconds": times},
        ),
        Row(
            "shards: 4 shards on 1 server (info)",
            f"{len(one_server)} shards / 1 server {per_call('4 shards, 1 server')} "
            f"({len(one_server) * ROWS_PER_SHARD} rows)",
            f"1 shard {per_call('1 shard')} ({total} rows)",
            split.median,
            split.spread,
            "info: the UNION ALL alone, no second server",
            None,
            {"per_round_ratio": split.per_round},
        ),
        Row(
            "shards: round trips",
            ", ".join(f"{a}: {n}" for a, n in sorted(subject_trips.items())),
            ", ".join(f"{a}: {n}" for a, n in sorted(baseline_trips.items())),
            goal="exactly 1 per physical server (counted)",
            met=trips_ok,
        ),
    ]
    result.details = {
        "shards": shards,
        "baseline_shard": BASELINE_SHARD,
        "subject_round_trips": subject_trips,
        "baseline_round_trips": baseline_trips,
    }
    result.notes = [
        f"{ROWS_PER_SHARD} photos_photo rows on each of shards {', '.join(map(str, shards))} "
        f"({', '.join(sorted(servers))}); the same {total} rows' worth on shard {BASELINE_SHARD} "
        f"({baseline_alias}) for the baseline. IDs from each shard's next_id(); "
        "rows deleted after.",
        f"- query_shards({SQL!r}) with each shard's ID list; {CALLS_PER_ROUND} calls per round, "
        f"{ROUNDS} interleaved rounds after {WARMUP} warm-up; ratio = subject time / baseline "
        "time.",
        f"- Round trips: one call each, counted on every alias with {counting_method()}.",
    ]
    return result
