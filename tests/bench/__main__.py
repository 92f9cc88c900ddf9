"""Run the named benchmarks (default: all), write results/latest.{json,md}, print the table.

``--strict`` makes a missed goal fail the run (exit 1), for scripts and closing checks that must
not read a table to learn the outcome.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback

from tests.bench.harness import (
    BenchResult,
    Row,
    environment,
    exit_status,
    markdown_table,
    missed_goals,
    write_results,
)

BENCHMARKS = {
    "ids": "tests.bench.bench_ids",
    "map": "tests.bench.bench_map",
    "shards": "tests.bench.bench_shards",
    "pipeline": "tests.bench.bench_pipeline",
    "upload": "tests.bench.bench_upload",
    "feed": "tests.bench.feed",
}


def quiesce(timeout: float = 120.0) -> None:
    """Let what the previous benchmark left behind finish before the next one is timed: the
    worker's queue (fan-out jobs), and the Postgres servers' dirty pages (a CHECKPOINT each)."""
    import redis
    from django.conf import settings
    from django.db import connections

    from tests.worker_queue import jobs_due

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and jobs_due(broker):
        time.sleep(0.2)
    servers: dict[str, str] = {}
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        servers.setdefault(f"{settings_dict['HOST']}:{settings_dict['PORT']}", alias)
    for alias in servers.values():
        with connections[alias].cursor() as cursor:
            cursor.execute("CHECKPOINT")


def main(argv: list[str]) -> int:
    """Run benchmarks; exit 1 on a crash (or, with ``--strict``, a missed goal), 2 on bad names."""
    strict = "--strict" in argv
    names = [arg for arg in argv if arg != "--strict"] or list(BENCHMARKS)
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "instaclone.settings.test")
    import django

    django.setup()
    from instaclone.sharding.topology import verify_topology

    verify_topology()
    env = environment()
    results: list[BenchResult] = []
    crashed: list[str] = []
    for name in names:
        quiesce()
        print(f"== {name} ...", flush=True)
        start = time.perf_counter()
        try:
            result: BenchResult = importlib.import_module(BENCHMARKS[name]).run()
        except Exception as exc:  # noqa: BLE001 - report it and carry on with the others
            traceback.print_exc()
            crashed.append(name)
            result = BenchResult(name, rows=[Row(name, f"CRASHED: {exc!r}"[:200], "–")])
            result.notes = [f"Crashed: `{exc!r}`"]
        result.seconds = time.perf_counter() - start
        print(f"   {name} took {result.seconds:.0f} s", flush=True)
        results.append(result)
    json_path, md_path = write_results(results, env)
    print()
    print(markdown_table([row for result in results for row in result.rows]))
    print()
    for result in results:
        for note in result.notes:
            print(note)
        print()
    missed = missed_goals(results)
    if missed:
        print("GOALS MISSED:")
        for row in missed:
            ratio = "–" if row.ratio is None else f"{row.ratio:.2f}"
            print(f"  - {row.benchmark}: ratio {ratio}, goal {row.goal} ({row.subject})")
    elif not crashed:
        print("All checked goals met.")
    if missed and strict:
        print(f"--strict: {len(missed)} goal(s) missed, failing the run")
    if crashed:
        print(f"CRASHED (goals not checked): {', '.join(crashed)}")
    print(f"\nwrote {json_path} and {md_path}")
    return exit_status(results, crashed=crashed, strict=strict)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
