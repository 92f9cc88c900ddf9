"""Part 1: the feed and GET /v1/ping through nginx and both Gunicorns under wrk."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from tests.bench.feed.workload import FEED_COUNT, FEED_PATH, HTTP_FOLLOWEES, PING_PATH
from tests.bench.harness import Row, interleave, ratio_of, time_ratio, timed

APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:18080")

WRK_THREADS = 2
WRK_CONNECTIONS = 4
WRK_SECONDS = 3
HTTP_ROUNDS = 5
COLD_SINGLES = 10

GOAL_RPS = 0.5
GOAL_P99 = 2.5
GOAL_COLD_RPS = 0.3


def _ensure_wrk() -> str:
    """Return wrk's path, installing the Debian package quietly when missing (needs root)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("wrk is missing and this is not root: apt-get install wrk")
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "check": False}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, **quiet).returncode != 0:  # type: ignore[call-overload]
        subprocess.run(["apt-get", "update", "-qq"], env=env, **quiet)  # type: ignore[call-overload]
        subprocess.run(install, env=env, **quiet)  # type: ignore[call-overload]
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("could not install wrk with apt-get")
    return found


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


@dataclass(frozen=True)
class WrkRun:
    rps: float
    p50: float  # seconds
    p99: float
    requests: int
    bad: int  # non-2xx answers plus socket errors


def _wrk(wrk: str, path: str, token: str) -> WrkRun:
    """Run one wrk round against ``path`` and parse its numbers."""
    out = subprocess.run(
        [
            wrk,
            f"-t{WRK_THREADS}",
            f"-c{WRK_CONNECTIONS}",
            f"-d{WRK_SECONDS}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            APP_URL + path,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=WRK_SECONDS + 30,
    ).stdout

    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        if not match:
            raise RuntimeError(f"no {percent}% latency in wrk output:\n{out}")
        return float(match[1]) * _UNITS[match[2]]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not rps or not total:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    bad = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    for kind in re.findall(r"Socket errors:(.*)", out):
        bad += sum(int(n) for n in re.findall(r"\d+", kind))
    run = WrkRun(float(rps[1]), latency("50"), latency("99"), int(total[1]), bad)
    stalled = run.requests < MIN_ANSWERS_PER_ROUND
    if stalled or run.p99 <= 0 or run.rps <= 0 or run.bad > 0:
        raise WrkRoundSpoilt(f"{path}: {run.requests} requests, {run.bad} bad\n{out}")
    return run


class WrkRoundSpoilt(RuntimeError):
    """A wrk round got errors or almost no answers (a Gunicorn restarted meanwhile, say)."""


ROUND_ATTEMPTS = 4
# Below this the app stalled for most of the round: all four workers recycling at once (they
# start together and `max_requests` comes due together), or a restart by other work.
MIN_ANSWERS_PER_ROUND = 25


def _wrk_round(wrk: str, path: str, token: str, spoilt: list[str]) -> WrkRun:
    """Run a wrk round; when it got any error answer or stalled, wait and run it again.

    Other work on this machine restarts the Gunicorns now and then; a round that met the
    restart measures nginx's 502s (or nothing), not the app, so it is thrown away (counted).
    """
    for _ in range(ROUND_ATTEMPTS - 1):
        try:
            return _wrk(wrk, path, token)
        except WrkRoundSpoilt as exc:
            spoilt.append(str(exc).splitlines()[0])
            print(f"   spoilt wrk round ({spoilt[-1]}), running it again", flush=True)
            _wait_for_app(token)
    return _wrk(wrk, path, token)


def _wait_for_app(token: str, seconds: float = 60.0) -> None:
    """Wait until ten pings in a row answer 200 (both Gunicorns back)."""
    deadline = time.monotonic() + seconds
    good = 0
    while good < 10 and time.monotonic() < deadline:
        try:
            good = good + 1 if _http_get(PING_PATH, token)[0] == 200 else 0
        except OSError:
            good = 0
            time.sleep(0.5)
    time.sleep(1.0)


def _http_get(path: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - our own stack
        APP_URL + path, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def through_nginx(token: str) -> tuple[list[Row], list[str], dict[str, Any]]:
    wrk = _ensure_wrk()
    _wait_for_app(token)
    status, body = _http_get(FEED_PATH, token)
    if status != 200 or len(body["data"]) != FEED_COUNT:
        raise RuntimeError(f"feed through nginx answered {status} with {len(body['data'])} items")
    status, body = _http_get(PING_PATH, token)
    if status != 200 or body != {"meta": {"code": 200}, "data": {"pong": True}}:
        raise RuntimeError(f"/v1/ping answered {status} {body} (Gunicorn restarted?)")

    runs: dict[str, list[WrkRun]] = {"ping": [], "warm": [], "cold": []}
    spoilt: list[str] = []

    def variant(name: str, path: str, flush: bool) -> Callable[[], float]:
        def go() -> float:
            if flush:
                cache.clear()
            run = _wrk_round(wrk, path, token, spoilt)
            runs[name].append(run)
            return run.rps

        return go

    interleave(
        {
            "ping": variant("ping", PING_PATH, False),
            "warm": variant("warm", FEED_PATH, False),
            "cold": variant("cold", FEED_PATH, True),
        },
        rounds=HTTP_ROUNDS,
    )
    # interleave's warm-up round is in the lists too: drop it.
    measured = {name: values[1:] for name, values in runs.items()}
    ping, warm, cold = measured["ping"], measured["warm"], measured["cold"]
    rps = ratio_of([w.rps / p.rps for w, p in zip(warm, ping, strict=True)])
    p99 = ratio_of([w.p99 / p.p99 for w, p in zip(warm, ping, strict=True)])
    cold_rps = ratio_of([c.rps / p.rps for c, p in zip(cold, ping, strict=True)])
    bad = sum(run.bad for values in measured.values() for run in values)

    def med(values: list[WrkRun], attr: str) -> float:
        return statistics.median(getattr(run, attr) for run in values)

    # One request right after a flush: what a truly cold read costs (the wrk rounds refill
    # the cache with their first few requests and are warm from then on).
    singles_cold: list[float] = []
    singles_ping: list[float] = []
    for _ in range(COLD_SINGLES * ROUND_ATTEMPTS):
        if len(singles_cold) == COLD_SINGLES:
            break
        cache.clear()
        try:
            cold_one = timed(lambda: _http_get(FEED_PATH, token))
            ping_one = timed(lambda: _http_get(PING_PATH, token))
        except OSError as exc:  # an error answer or a refused connection: a restart
            spoilt.append(f"single request: {exc}")
            _wait_for_app(token)
            continue
        singles_cold.append(cold_one)
        singles_ping.append(ping_one)
    single = time_ratio(singles_cold, singles_ping)
    load = f"wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{WRK_SECONDS}s"
    rows = [
        Row.measured(
            "feed via nginx: warm req/s vs GET /v1/ping",
            f"feed ({FEED_COUNT} items, {HTTP_FOLLOWEES} followees) {med(warm, 'rps'):,.0f} req/s",
            f"ping {med(ping, 'rps'):,.0f} req/s",
            rps,
            goal=f">= {GOAL_RPS}",
            met=rps.median >= GOAL_RPS,
            load=load,
        ),
        Row.measured(
            "feed via nginx: warm p99 vs GET /v1/ping",
            f"feed p99 {med(warm, 'p99') * 1000:.1f} ms (p50 {med(warm, 'p50') * 1000:.1f})",
            f"ping p99 {med(ping, 'p99') * 1000:.1f} ms (p50 {med(ping, 'p50') * 1000:.1f})",
            p99,
            goal=f"<= {GOAL_P99}",
            met=p99.median <= GOAL_P99,
        ),
        Row.measured(
            "feed via nginx: req/s, Memcached flushed before each round",
            f"feed {med(cold, 'rps'):,.0f} req/s (p99 {med(cold, 'p99') * 1000:.1f} ms)",
            f"ping {med(ping, 'rps'):,.0f} req/s",
            cold_rps,
            goal=f">= {GOAL_COLD_RPS}",
            met=cold_rps.median >= GOAL_COLD_RPS,
        ),
        Row.measured(
            "feed via nginx: one request right after a flush vs one ping (info)",
            f"cold feed {statistics.median(singles_cold) * 1000:.1f} ms",
            f"ping {statistics.median(singles_ping) * 1000:.1f} ms",
            single,
            goal="– (time ratio)",
        ),
    ]
    notes = [
        f"Through nginx ({APP_URL}) to 2 Gunicorn masters x 2 sync workers: `{load} --latency` "
        f"with keep-alive and a Bearer token, {HTTP_ROUNDS} interleaved rounds of ping, warm "
        "feed and cold feed (rotating who goes first) after one warm-up round. wrk runs on the "
        "same 2 cores as nginx, both Gunicorns, Postgres, Redis and Memcached, so the absolute "
        "rates are this VM's, not the app's; the ratios are the point. Gunicorn recycles each "
        "worker after about 1,000 requests (`max_requests`), which lands inside the rounds of "
        "both endpoints alike and shows in p99.",
        "A 'cold' round flushes both Memcached servers (`cache.clear()`) and then runs the "
        "same wrk round: only its first few requests find the cache empty (they refill it, "
        "and the token's entry too), so that row is close to warm by construction. The info "
        "row below it times single requests each right after a flush (new connection each, "
        f"{COLD_SINGLES} times) against a ping: that is the real cost of a cold read.",
        f"Non-2xx answers and socket errors in the kept wrk rounds: {bad}. Rounds thrown away "
        "and run again because they got error answers or fewer than "
        f"{MIN_ANSWERS_PER_ROUND} answers in {WRK_SECONDS} s: {len(spoilt)} (a Gunicorn "
        "restarted by other work on this machine, or all four workers recycling at once: they "
        "boot together and their `max_requests` comes due together). Slower rounds that a "
        "recycle only dented are kept; they show in the min–max, the medians absorb them.",
    ]
    details: dict[str, Any] = {
        name: [run.__dict__ for run in values] for name, values in measured.items()
    }
    details["spoilt_rounds"] = spoilt
    return rows, notes, details
