"""Map memory and lookup speed: the bucketed photo->user map against naive SET keys."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.test import override_settings

from instaclone.sharding import idmap
from instaclone.sharding.redis_client import redis_client
from instaclone.sharding.topology import current_topology
from tests.bench.harness import (
    BenchResult,
    Row,
    count_round_trips,
    interleave,
    rate,
    throughput_ratio,
    timed,
)
from tests.bench.map_support import (
    ThrowawayRedis,
    bucket_stats,
    load_naive,
    load_subject,
    measure,
    realistic_owners,
    throwaway_redis,
)

COUNT = 1_000_000
MEMORY_REPEATS = 2
SWEEP_BITS = (14, 16, 17, 18)
LOOKUPS = 20_000
BATCH = 100
ROUNDS = 7
WARMUP = 1
BYTES_GOAL = 11.0
RATIO_GOAL = 8.0
SPEED_GOAL = 0.7
CHECK_SAMPLE = 2_000


def _subject_loader(owners: dict[int, int]) -> Callable[[], None]:
    """Return a loader that writes through idmap and then closes the project's connections."""

    def load() -> None:
        load_subject(owners)
        redis_client().connection_pool.disconnect()

    return load


def _naive_loader(url: str, owners: dict[int, int]) -> Callable[[], None]:
    """Return a loader that writes naive SET keys on its own connection, then closes it."""

    def load() -> None:
        load_naive(url, owners)

    return load


def _memory(server: ThrowawayRedis, owners: dict[int, int], bits: int) -> dict[str, Any]:
    """Measure the subject at ``bits`` window bits and describe its buckets."""
    with override_settings(IDMAP_WINDOW_BITS=bits):
        grown = measure(server.client, _subject_loader(owners))
    return {
        "bytes_per_mapping": grown / len(owners),
        **bucket_stats(server.client, idmap.bucket_keys_pattern()),
    }


def _check_answers(sample: list[int], owners: dict[int, int], plain: redis.Redis) -> None:
    """Assert both sides return the right owner for a sample of IDs."""
    for photo_id in sample[:CHECK_SAMPLE]:
        assert idmap.photo_owner(photo_id) == owners[photo_id], photo_id
        assert int(plain.get(f"photo:{photo_id}") or -1) == owners[photo_id], photo_id
    group = sample[:BATCH]
    assert idmap.photo_owners(group) == {p: owners[p] for p in group}


def _lookups(server: ThrowawayRedis, owners: dict[int, int]) -> tuple[list[Row], dict[str, Any]]:
    """Time single and batched lookups, interleaved, against plain GET and MGET."""
    plain = redis.Redis.from_url(server.url)
    sample = random.Random(7).sample(list(owners), LOOKUPS)
    groups = [sample[i : i + BATCH] for i in range(0, LOOKUPS, BATCH)]
    _check_answers(sample, owners, plain)

    def subject_single() -> None:
        for photo_id in sample:
            idmap.photo_owner(photo_id)

    def baseline_single() -> None:
        for photo_id in sample:
            plain.get(f"photo:{photo_id}")

    def subject_batch() -> None:
        for group in groups:
            idmap.photo_owners(group)

    def baseline_batch() -> None:
        for group in groups:
            plain.mget([f"photo:{photo_id}" for photo_id in group])

    with count_round_trips(list(settings.DATABASES)) as postgres:
        timed(subject_single)
        timed(subject_batch)
    single = interleave(
        {"idmap": lambda: timed(subject_single), "get": lambda: timed(baseline_single)},
        rounds=ROUNDS,
        warmup=WARMUP,
    )
    batch = interleave(
        {"idmap": lambda: timed(subject_batch), "mget": lambda: timed(baseline_batch)},
        rounds=ROUNDS,
        warmup=WARMUP,
    )
    one = throughput_ratio(single["idmap"], single["get"])
    many = throughput_ratio(batch["idmap"], batch["mget"])
    rows = [
        Row(
            "map: lookup single",
            f"photo_owner() {rate(LOOKUPS, single['idmap'], 'ops')}",
            f"GET {rate(LOOKUPS, single['get'], 'ops')}",
            one.median,
            one.spread,
            f">= {SPEED_GOAL}",
            one.median >= SPEED_GOAL,
            {"per_round_ratio": one.per_round},
        ),
        Row(
            f"map: lookup batch {BATCH} (info)",
            f"photo_owners({BATCH}) {rate(LOOKUPS, batch['idmap'], 'lookups')}",
            f"MGET {BATCH} {rate(LOOKUPS, batch['mget'], 'lookups')}",
            many.median,
            many.spread,
            "info",
            None,
            {"per_round_ratio": many.per_round},
        ),
    ]
    return rows, {"postgres_statements_during_lookups": dict(postgres)}


def _sweep_table(sweep: dict[int, dict[str, Any]], configured: int) -> list[str]:
    """Render the bytes-per-mapping table over window sizes."""
    lines = [
        "| IDMAP_WINDOW_BITS | bucket span | bytes/mapping | buckets | median entries "
        "| max entries | all listpack |",
        "|---|---|---|---|---|---|---|",
    ]
    for bits in sorted(sweep):
        s = sweep[bits]
        mark = " (configured)" if bits == configured else ""
        lines.append(
            f"| {bits}{mark} | {(1 << bits) / 1000:,.1f} s | {s['bytes_per_mapping']:.2f} "
            f"| {s['buckets']:,} | {s['median_entries']} | {s['max_entries']} "
            f"| {'yes' if s['all_listpack'] else 'NO ' + str(s['encodings'])} |"
        )
    return lines


def run() -> BenchResult:
    """Load 1M mappings both ways into a private Redis, compare memory, then lookup speed."""
    result = BenchResult("map")
    started = time.perf_counter()
    shards = current_topology().logical_shards
    owners = realistic_owners(COUNT, shards)
    generate_s = time.perf_counter() - started
    configured = int(settings.IDMAP_WINDOW_BITS)
    with throwaway_redis() as server, override_settings(REDIS_URL=server.url):
        redis_client.cache_clear()
        try:
            sweep = {b: _memory(server, owners, b) for b in SWEEP_BITS if b != configured}
            naive_bytes: list[float] = []
            subject_bytes: list[float] = []
            for _ in range(MEMORY_REPEATS):
                grown = measure(server.client, _naive_loader(server.url, owners))
                naive_bytes.append(grown / COUNT)
                sweep[configured] = _memory(server, owners, configured)
                subject_bytes.append(sweep[configured]["bytes_per_mapping"])
            load_naive_s = timed(_naive_loader(server.url, owners))  # subject map stays loaded
            lookup_rows, lookup_details = _lookups(server, owners)
        finally:
            redis_client.cache_clear()
    ratios = [n / s for n, s in zip(naive_bytes, subject_bytes, strict=True)]
    subject_b, naive_b = statistics.median(subject_bytes), statistics.median(naive_bytes)
    ratio = statistics.median(ratios)
    stats = sweep[configured]
    result.rows = [
        Row(
            "map: memory",
            f"idmap {subject_b:.2f} B/mapping",
            f"SET {naive_b:.2f} B/mapping",
            ratio,
            "runs " + ", ".join(f"{r:.2f}" for r in ratios),
            f">= {RATIO_GOAL:.0f}x and <= {BYTES_GOAL:.0f} B/mapping",
            ratio >= RATIO_GOAL and subject_b <= BYTES_GOAL,
            {"subject_bytes": subject_bytes, "naive_bytes": naive_bytes},
        ),
        Row(
            "map: buckets",
            f"{stats['buckets']:,} buckets, max {stats['max_entries']} entries "
            f"(median {stats['median_entries']}), "
            + ("all listpack" if stats["all_listpack"] else f"encodings {stats['encodings']}"),
            "–",
            goal=f"every bucket listpack (limit {server.listpack_entries})",
            met=stats["all_listpack"] and stats["entries"] == COUNT,
            details=stats,
        ),
        *lookup_rows,
    ]
    result.details = {
        "window_bits": sweep,
        "configured_window_bits": configured,
        "generate_seconds": round(generate_s, 1),
        "naive_load_seconds": round(load_naive_s, 1),
        "redis_version": server.version,
        **lookup_details,
    }
    result.notes = [
        f"{COUNT:,} photo IDs from compose_id(): uploads at 60/s (Poisson), owners uniform in "
        f"1..1,000,000, shard = user_id % {shards}, sequence = per-shard count within the "
        "millisecond (as next_id() issues them; almost always 0 at this pace). Private "
        f"redis-server {server.version} (--save '' --appendonly no --hash-max-listpack-entries "
        f"{server.listpack_entries}); memory = used_memory growth after FLUSHALL, loaders' "
        "connections closed before reading it.",
        f"- Bytes per mapping, {MEMORY_REPEATS} runs each: idmap "
        + ", ".join(f"{b:.3f}" for b in subject_bytes)
        + "; naive SET "
        + ", ".join(f"{b:.3f}" for b in naive_bytes)
        + ".",
        f"- Lookups: {LOOKUPS:,} per round, {ROUNDS} interleaved rounds after {WARMUP} warm-up; "
        f"statements sent to Postgres during one subject round of each kind: "
        f"{lookup_details['postgres_statements_during_lookups'] or 0} (every ID is in Redis). "
        f"Answers checked on {CHECK_SAMPLE:,} IDs.",
        "",
        "Bytes per mapping by window size (same 1M IDs):",
        "",
        *_sweep_table(sweep, configured),
    ]
    return result
