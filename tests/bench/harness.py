"""Interleaved subject/baseline timing, ratio statistics, environment facts and result files."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True, slots=True)
class Ratio:
    """The per-round ratios of one subject against its baseline, summarised."""

    median: float
    low: float
    high: float
    q1: float
    q3: float
    per_round: tuple[float, ...]

    @property
    def spread(self) -> str:
        """Return the spread as ``IQR q1-q3 (min-max low-high)``."""
        return f"IQR {self.q1:.2f}–{self.q3:.2f} (min–max {self.low:.2f}–{self.high:.2f})"


@dataclass(slots=True)
class Row:
    """One line of the results table."""

    benchmark: str
    subject: str
    baseline: str
    ratio: float | None = None
    spread: str = ""
    goal: str = ""
    met: bool | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def measured(
        cls,
        benchmark: str,
        subject: str,
        baseline: str,
        ratio: Ratio,
        *,
        goal: str = "–",
        met: bool | None = None,
        **details: Any,
    ) -> Row:
        """A row for a measured ratio: its median and spread, the per-round ratios in details."""
        return cls(
            benchmark,
            subject,
            baseline,
            ratio.median,
            ratio.spread,
            goal,
            met,
            {"per_round": ratio.per_round, **details},
        )


@dataclass(slots=True)
class BenchResult:
    """What one benchmark module reports: table rows, Markdown notes, raw details."""

    name: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def interleave(
    variants: Mapping[str, Callable[[], float]], *, rounds: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Run every variant once per round, rotating who goes first; return seconds per round."""
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(variants[name]())
    return times


def ratio_of(per_round: Sequence[float]) -> Ratio:
    """Summarise per-round ratios by their median, quartiles and range."""
    values = sorted(per_round)
    if len(values) >= 2:
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    else:
        q1 = q3 = values[0]
    return Ratio(
        median=statistics.median(values),
        low=values[0],
        high=values[-1],
        q1=q1,
        q3=q3,
        per_round=tuple(round(v, 4) for v in per_round),
    )


def throughput_ratio(subject: Sequence[float], baseline: Sequence[float]) -> Ratio:
    """Return subject ops/s over baseline ops/s per round (same work, so baseline/subject time)."""
    return ratio_of([b / s for s, b in zip(subject, baseline, strict=True)])


def time_ratio(subject: Sequence[float], baseline: Sequence[float]) -> Ratio:
    """Return subject time over baseline time per round."""
    return ratio_of([s / b for s, b in zip(subject, baseline, strict=True)])


def timed(work: Callable[[], object]) -> float:
    """Run ``work`` once and return the wall-clock seconds it took."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def rate(count: int, seconds: Sequence[float], unit: str) -> str:
    """Format ``count`` operations per the median of ``seconds`` as a rate."""
    return f"{count / statistics.median(seconds):,.0f} {unit}/s"


@contextmanager
def count_round_trips(aliases: Sequence[str]) -> Iterator[dict[str, int]]:
    """Count statements sent to each alias while the block runs (read the dict after it).

    Counting uses Django's ``execute_wrapper``; when the project provides
    ``instaclone.sharding.instrumentation.count_queries`` (which also installs the wrappers on
    the shard pool's threads), that is used, so reads run on other threads are counted too.
    """
    counts: dict[str, int] = {}
    try:
        from instaclone.sharding.instrumentation import count_queries
    except ImportError:
        with _this_thread_counts(aliases, counts):
            yield counts
        return
    with count_queries() as counter:
        yield counts
    counts.update({alias: n for alias, n in counter.items() if alias in aliases and n})


@contextmanager
def _this_thread_counts(aliases: Sequence[str], counts: dict[str, int]) -> Iterator[None]:
    """Count statements on this thread's connections only."""
    from django.db import connections

    def wrapper_for(alias: str) -> Callable[..., Any]:
        def wrapper(
            execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any
        ) -> Any:
            counts[alias] = counts.get(alias, 0) + 1
            return execute(sql, params, many, ctx)

        return wrapper

    with ExitStack() as stack:
        for alias in aliases:
            stack.enter_context(connections[alias].execute_wrapper(wrapper_for(alias)))
        yield


def counting_method() -> str:
    """Describe how round trips are counted in this checkout."""
    try:
        import instaclone.sharding.instrumentation  # noqa: F401
    except ImportError:
        return "execute_wrapper on this thread's connections"
    return (
        "execute_wrapper via instaclone.sharding.instrumentation.count_queries (pool threads too)"
    )


def _git_revision() -> str:
    """Return the checkout's commit, marked when the work tree has changes."""
    root = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head or 'unknown'}{' (uncommitted changes)' if dirty else ''}"


def environment() -> dict[str, Any]:
    """Collect versions, host facts and the time of the run."""
    import django
    import psycopg2
    import redis
    from django.conf import settings
    from django.db import connections

    postgres: dict[str, str] = {}
    for alias in settings.DATABASES:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SHOW server_version")
                postgres[alias] = str(cursor.fetchone()[0])
        except Exception as exc:  # noqa: BLE001 - a fact, not a failure
            postgres[alias] = f"unavailable: {exc}".strip()
    try:
        redis_version = str(
            redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"]
        )
    except redis.RedisError as exc:
        redis_version = f"unavailable: {exc}"
    load = os.getloadavg()
    return {
        "time_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": _git_revision(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "postgres": postgres,
        "redis_server": redis_version,
        "psycopg2": psycopg2.__version__.split()[0],
        "redis_py": redis.__version__,
        "host": platform.node(),
        "platform": platform.platform(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in load],
    }


def _met(row: Row) -> str:
    return {True: "yes", False: "**NO**", None: "–"}[row.met]


def markdown_table(rows: Sequence[Row]) -> str:
    """Render the rows as the results table."""
    lines = [
        "| benchmark | subject | baseline | ratio (median) | spread | goal | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = "–" if row.ratio is None else f"{row.ratio:.2f}"
        cells = [
            row.benchmark,
            row.subject,
            row.baseline,
            ratio,
            row.spread or "–",
            row.goal,
            _met(row),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def missed_goals(results: Sequence[BenchResult]) -> list[Row]:
    """Return the rows whose goal was checked and not met."""
    return [row for result in results for row in result.rows if row.met is False]


def exit_status(results: Sequence[BenchResult], *, crashed: Sequence[str], strict: bool) -> int:
    """Return the exit status: 1 when a benchmark crashed or, strictly, when a goal was missed."""
    if crashed or (strict and missed_goals(results)):
        return 1
    return 0


def write_results(results: Sequence[BenchResult], env: dict[str, Any]) -> tuple[Path, Path]:
    """Write latest.json and latest.md; return their paths."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    env = {**env, "loadavg_end": [round(x, 2) for x in os.getloadavg()]}
    rows = [row for result in results for row in result.rows]
    payload = {"environment": env, "benchmarks": [asdict(result) for result in results]}
    json_path = RESULTS_DIR / "latest.json"
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    md = ["# instaclone benchmarks", "", markdown_table(rows), ""]
    missed = missed_goals(results)
    md.append(
        "**Goals missed:** " + "; ".join(f"{r.benchmark} ({r.goal})" for r in missed)
        if missed
        else "All checked goals met."
    )
    md += ["", "## Environment", ""]
    md += [f"- {key}: {value}" for key, value in env.items()]
    for result in results:
        md += ["", f"## {result.name} ({result.seconds:.0f} s)", ""]
        md += result.notes or ["(no notes)"]
    md_path = RESULTS_DIR / "latest.md"
    md_path.write_text("\n".join(md) + "\n")
    return json_path, md_path
