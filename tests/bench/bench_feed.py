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

import json
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.test import Client
from django.urls import reverse

from tests.bench.harness import BenchResult, Row, interleave, ratio_of, time_ratio, timed
from tests.roundtrips import count_round_trips

APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:38080")
FEED_PATH = "/v1/users/self/feed?count=30"
PING_PATH = "/v1/ping"
FEED_COUNT = 30

GROWTH = (10, 100, 1000)  # followees of the three readers
HTTP_FOLLOWEES = 100  # the reader loaded through nginx
PHOTOS_PER_FOLLOWEE = 4  # 10 followees x 4 > 30: every feed is full
MAX_LIKES = 6
MAX_COMMENTS = 3

WRK_THREADS = 2
WRK_CONNECTIONS = 4
WRK_SECONDS = 3
HTTP_ROUNDS = 5
COLD_SINGLES = 10

GROWTH_ROUNDS = 9
READS_PER_ROUND = 40

FANOUT_FOLLOWERS = 10_000
FANOUT_ROUNDS = 7

GOAL_RPS = 0.5
GOAL_P99 = 2.5
GOAL_COLD_RPS = 0.3
GOAL_OWN_TRIPS = 3
GOAL_GROWTH = 1.3
GOAL_NAIVE = 5.0
GOAL_FANOUT_US = 10.0

NAIVE_PHOTO = "bench_naive_photo"
NAIVE_FOLLOW = "bench_naive_follow"


# --- data --------------------------------------------------------------------------------


@dataclass
class Made:
    """What the benchmark created, so the end can delete exactly that."""

    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    users: list[int] = field(default_factory=list)
    photos: dict[int, list[int]] = field(default_factory=dict)  # logical shard -> photo IDs
    feeds: list[int] = field(default_factory=list)
    app_id: int | None = None
    naive_tables: bool = False


def _by_shard(user_ids: Iterable[int]) -> dict[int, list[int]]:
    from instaclone.sharding.connections import shard_for_user

    grouped: dict[int, list[int]] = {}
    for user_id in user_ids:
        grouped.setdefault(shard_for_user(user_id), []).append(user_id)
    return grouped


def _make_users(made: Made, count: int, label: str) -> list[int]:
    """Bulk-insert ``count`` active public users in the users database; return their IDs."""
    from accounts.models import User

    users = [
        User(username=f"bf{made.tag}{label}{i}", password="!", full_name=f"Bench {label} {i}")
        for i in range(count)
    ]
    created = User.objects.bulk_create(users, batch_size=2000)
    ids = [user.id for user in created]
    made.users.extend(ids)
    return ids


def _follow(readers_followees: dict[int, Sequence[int]]) -> None:
    """Insert approved edges: Following on the follower's shard, Follower on the followee's."""
    from accounts.models import Follower, Following
    from accounts.models.graph import EdgeStatus
    from instaclone.sharding.connections import use_shard

    active = EdgeStatus.ACTIVE
    for reader, followees in readers_followees.items():
        with use_shard(_shard(reader)):
            Following.objects.bulk_create(
                [Following(user_id=reader, target_id=t, status=active) for t in followees],
                batch_size=2000,
            )
        for shard, targets in _by_shard(followees).items():
            with use_shard(shard):
                Follower.objects.bulk_create(
                    [Follower(user_id=t, follower_id=reader, status=active) for t in targets],
                    batch_size=2000,
                )


def _shard(user_id: int) -> int:
    from instaclone.sharding.connections import shard_for_user

    return shard_for_user(user_id)


def _post_photos(
    made: Made, owners: Sequence[int], *, rounds: int, likers: Sequence[int], fan: int
) -> list[tuple[int, int]]:
    """Post ``rounds`` photos per owner (round by round, so the newest mix many owners), with
    likes and comments from ``likers`` (``fan`` likes about a fifth); return (id, owner)."""
    from instaclone.sharding.connections import target_for_shard, use_shard
    from photos.models import Comment, Like
    from photos.storage import media_prefix

    rng = random.Random(7)
    posted: list[tuple[int, int]] = []
    grouped = _by_shard(owners)
    for index in range(rounds):
        for shard, shard_owners in grouped.items():
            plan = []
            for owner in shard_owners:
                who = rng.sample(likers, rng.randrange(MAX_LIKES + 1))
                if rng.random() < 0.2 and fan not in who:
                    who.append(fan)
                said = [rng.choice(likers) for _ in range(rng.randrange(MAX_COMMENTS + 1))]
                plan.append((owner, who, said))
            target = target_for_shard(shard)
            with connections[target.alias].cursor() as cursor:
                # Raw INSERT ... RETURNING: bulk_create does not read next_id() back.
                cursor.execute(
                    f"INSERT INTO {target.schema}.photos_photo (user_id, caption, filter_name, "
                    "media_key, tags, mentions, location_name, like_count, comment_count) "
                    "SELECT o, 'bench photo ' || %s || ' of ' || o || ' #bench', 'Amaro', '', "
                    "'{bench}', '{}', '', l, c "
                    "FROM unnest(%s::bigint[], %s::int[], %s::int[]) AS t(o, l, c) "
                    "RETURNING id, user_id",
                    [
                        index,
                        [owner for owner, _, _ in plan],
                        [len(who) for _, who, _ in plan],
                        [len(said) for _, _, said in plan],
                    ],
                )
                ids = {owner: photo_id for photo_id, owner in cursor.fetchall()}
                made.photos.setdefault(shard, []).extend(ids.values())
                photo_ids = [ids[owner] for owner, _, _ in plan]
                cursor.execute(
                    f"UPDATE {target.schema}.photos_photo p SET media_key = k "
                    "FROM unnest(%s::bigint[], %s::text[]) AS t(i, k) WHERE p.id = i",
                    [photo_ids, [media_prefix(photo_id) for photo_id in photo_ids]],
                )
            with use_shard(shard):
                Like.objects.bulk_create(
                    [
                        Like(photo_id=photo_id, user_id=u)
                        for photo_id, (_, who, _) in zip(photo_ids, plan, strict=True)
                        for u in who
                    ]
                )
                Comment.objects.bulk_create(
                    [
                        Comment(photo_id=photo_id, user_id=u, text=f"nice one {n}")
                        for photo_id, (_, _, said) in zip(photo_ids, plan, strict=True)
                        for n, u in enumerate(said)
                    ]
                )
            posted.extend((ids[owner], owner) for owner, _, _ in plan)
    return posted


def _tokens(made: Made, user_ids: Sequence[int]) -> dict[int, str]:
    """Issue one Bearer token per user under one client application."""
    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application

    app = Application.objects.create(
        name=f"bench-feed-{made.tag}",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )
    made.app_id = app.id
    tokens = {user_id: secrets.token_urlsafe(24) for user_id in user_ids}
    AccessToken.objects.bulk_create(
        [
            AccessToken(
                user_id=user_id,
                application=app,
                token=token,
                scope="basic",
                expires=timezone.now() + timedelta(hours=2),
            )
            for user_id, token in tokens.items()
        ]
    )
    return tokens


def _cleanup(made: Made) -> None:
    """Delete every feed, row, table and user the run made (raw SQL: fast, no signals).

    Every step runs even when an earlier one fails (the shared test stack can lose a schema
    under us); the failures are raised together at the end.
    """
    from oauth2_provider.models import AccessToken, Application

    from feeds import store
    from instaclone.sharding.connections import target_for_shard

    failures: list[str] = []

    def step(what: str, work: Callable[[], object]) -> None:
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - carry on deleting, report at the end
            failures.append(f"{what}: {exc}".strip())

    def forget_feeds() -> None:
        for user_id in made.feeds:
            store.feed_forget(user_id)

    def delete_on(shard: int, photo_ids: list[int], user_ids: list[int]) -> None:
        target = target_for_shard(shard)
        with connections[target.alias].cursor() as cursor:
            for table in ("photos_like", "photos_comment"):
                cursor.execute(
                    f"DELETE FROM {target.schema}.{table} WHERE photo_id = ANY(%s)", [photo_ids]
                )
            cursor.execute(
                f"DELETE FROM {target.schema}.photos_photo WHERE id = ANY(%s)", [photo_ids]
            )
            for table in ("accounts_following", "accounts_follower"):
                cursor.execute(
                    f"DELETE FROM {target.schema}.{table} WHERE user_id = ANY(%s)", [user_ids]
                )

    def drop_naive() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {NAIVE_PHOTO}, {NAIVE_FOLLOW}")

    def delete_app() -> None:
        AccessToken.objects.filter(application_id=made.app_id).delete()
        Application.objects.filter(id=made.app_id).delete()

    def delete_users() -> None:
        with connections["default"].cursor() as cursor:
            cursor.execute("DELETE FROM accounts_user WHERE id = ANY(%s)", [made.users])

    step("feeds", forget_feeds)
    users_by_shard = _by_shard(made.users)
    for shard in sorted(set(users_by_shard) | set(made.photos)):
        photo_ids = made.photos.get(shard, [])
        user_ids = users_by_shard.get(shard, [])
        step(f"shard {shard}", lambda s=shard, p=photo_ids, u=user_ids: delete_on(s, p, u))
    if made.naive_tables:
        step("naive tables", drop_naive)
    if made.app_id is not None:
        step("tokens", delete_app)
    step("users", delete_users)
    if failures:
        raise RuntimeError("clean-up incomplete: " + "; ".join(failures))


# --- 1. through nginx ----------------------------------------------------------------------


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


def _through_nginx(token: str) -> tuple[list[Row], list[str], dict[str, Any]]:
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
        Row(
            benchmark="feed via nginx: warm req/s vs GET /v1/ping",
            subject=f"feed ({FEED_COUNT} items, {HTTP_FOLLOWEES} followees) "
            f"{med(warm, 'rps'):,.0f} req/s",
            baseline=f"ping {med(ping, 'rps'):,.0f} req/s",
            ratio=rps.median,
            spread=rps.spread,
            goal=f">= {GOAL_RPS}",
            met=rps.median >= GOAL_RPS,
            details={"per_round": rps.per_round, "load": load},
        ),
        Row(
            benchmark="feed via nginx: warm p99 vs GET /v1/ping",
            subject=f"feed p99 {med(warm, 'p99') * 1000:.1f} ms "
            f"(p50 {med(warm, 'p50') * 1000:.1f})",
            baseline=f"ping p99 {med(ping, 'p99') * 1000:.1f} ms "
            f"(p50 {med(ping, 'p50') * 1000:.1f})",
            ratio=p99.median,
            spread=p99.spread,
            goal=f"<= {GOAL_P99}",
            met=p99.median <= GOAL_P99,
            details={"per_round": p99.per_round},
        ),
        Row(
            benchmark="feed via nginx: req/s, Memcached flushed before each round",
            subject=f"feed {med(cold, 'rps'):,.0f} req/s (p99 {med(cold, 'p99') * 1000:.1f} ms)",
            baseline=f"ping {med(ping, 'rps'):,.0f} req/s",
            ratio=cold_rps.median,
            spread=cold_rps.spread,
            goal=f">= {GOAL_COLD_RPS}",
            met=cold_rps.median >= GOAL_COLD_RPS,
            details={"per_round": cold_rps.per_round},
        ),
        Row(
            benchmark="feed via nginx: one request right after a flush vs one ping (info)",
            subject=f"cold feed {statistics.median(singles_cold) * 1000:.1f} ms",
            baseline=f"ping {statistics.median(singles_ping) * 1000:.1f} ms",
            ratio=single.median,
            spread=single.spread,
            goal="– (time ratio)",
            met=None,
            details={"per_round": single.per_round},
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


# --- round trips -------------------------------------------------------------------------


def _trips(client: Client, path: str, token: str) -> Counter[str]:
    with count_round_trips() as trips:
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    return Counter({kind: trips.get(kind, 0) for kind in ("postgres", "redis", "memcached")})


def _show(counts: Counter[str]) -> str:
    return ", ".join(f"{kind} {counts[kind]}" for kind in ("postgres", "redis", "memcached"))


def _round_trips(
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


# --- 2. growth and the naive feed ----------------------------------------------------------


NAIVE_FIELDS = ("id", "user_id", "caption", "filter_name", "media_key", "like_count")


def _naive_tables(
    made: Made, posted: Sequence[tuple[int, int]], follows: dict[int, list[int]]
) -> None:
    """Copy the photos and follows into two plain tables in the users database."""
    from instaclone.sharding.connections import use_shard
    from instaclone.sharding.ids import decode_id
    from photos.models import Photo

    made.naive_tables = True
    rows: dict[int, tuple[Any, ...]] = {}
    for shard, photo_ids in made.photos.items():
        with use_shard(shard):
            found = Photo.objects.filter(id__in=photo_ids)
            for photo in found.values_list(*NAIVE_FIELDS, "comment_count"):
                rows[photo[0]] = photo
    with connections["default"].cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {NAIVE_PHOTO}, {NAIVE_FOLLOW}")
        cursor.execute(
            f"CREATE TABLE {NAIVE_PHOTO} (id bigint PRIMARY KEY, owner_id bigint NOT NULL, "
            "created timestamptz NOT NULL, caption text NOT NULL, filter_name text NOT NULL, "
            "media_key text NOT NULL, like_count int NOT NULL, comment_count int NOT NULL)"
        )
        cursor.execute(f"CREATE INDEX ON {NAIVE_PHOTO} (owner_id, created)")
        cursor.execute(
            f"CREATE TABLE {NAIVE_FOLLOW} (user_id bigint, target_id bigint, "
            "PRIMARY KEY (user_id, target_id))"
        )
        chosen = [rows[photo_id] for photo_id, _ in posted]
        cursor.execute(
            f"INSERT INTO {NAIVE_PHOTO} SELECT * FROM unnest(%s::bigint[], %s::bigint[], "
            "%s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::int[], %s::int[])",
            [
                [r[0] for r in chosen],
                [r[1] for r in chosen],
                [decode_id(r[0]).created_at for r in chosen],
                *([r[i] for r in chosen] for i in range(2, 7)),
            ],
        )
        pairs = [(reader, target) for reader, targets in follows.items() for target in targets]
        cursor.execute(
            f"INSERT INTO {NAIVE_FOLLOW} SELECT * FROM unnest(%s::bigint[], %s::bigint[])",
            [[p[0] for p in pairs], [p[1] for p in pairs]],
        )
        cursor.execute(f"ANALYZE {NAIVE_PHOTO}")
        cursor.execute(f"ANALYZE {NAIVE_FOLLOW}")


def _naive_feed(user_id: int) -> bytes:
    """The usual clone's home feed: one query over one table, the authors, the JSON list."""
    from photos.shortcodes import shortcode
    from photos.storage import SIZES, rendition_key

    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT id, owner_id, created, caption, filter_name, media_key, like_count, "
            f"comment_count FROM {NAIVE_PHOTO} WHERE owner_id IN "
            f"(SELECT target_id FROM {NAIVE_FOLLOW} WHERE user_id = %s) "
            "ORDER BY created DESC, id DESC LIMIT %s",
            [user_id, FEED_COUNT],
        )
        photos = cursor.fetchall()
        cursor.execute(
            "SELECT id, username, full_name, profile_picture FROM accounts_user WHERE id = ANY(%s)",
            [sorted({row[1] for row in photos})],
        )
        users = {
            row[0]: {
                "id": str(row[0]),
                "username": row[1],
                "full_name": row[2],
                "profile_picture": row[3],
            }
            for row in cursor.fetchall()
        }
    base = f"{settings.S3_ENDPOINT_URL}/{settings.S3_BUCKET}/"
    data = []
    for photo_id, owner, created, caption, filter_name, key, likes, comments in photos:
        when = str(int(created.timestamp()))
        user = users[owner]
        data.append(
            {
                "id": f"{photo_id}_{owner}",
                "type": "image",
                "user": user,
                "images": {
                    name: {"url": base + rendition_key(key, size), "width": size, "height": size}
                    for name, size in SIZES.items()
                },
                "created_time": when,
                "caption": {
                    "id": str(photo_id),
                    "text": caption,
                    "created_time": when,
                    "from": user,
                },
                "likes": {"count": likes, "data": []},
                "comments": {"count": comments, "data": []},
                "user_has_liked": False,
                "tags": ["bench"],
                "filter": filter_name,
                "link": "http://127.0.0.1" + reverse("permalink", args=[shortcode(photo_id)]),
                "location": None,
                "users_in_photo": [],
            }
        )
    return json.dumps({"meta": {"code": 200}, "data": data}).encode()


def _naive_ids(user_id: int) -> list[tuple[int, int]]:
    """The usual clone's feed query alone: the 30 newest (photo, owner) of the followees."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            f"SELECT id, owner_id FROM {NAIVE_PHOTO} WHERE owner_id IN "
            f"(SELECT target_id FROM {NAIVE_FOLLOW} WHERE user_id = %s) "
            "ORDER BY created DESC, id DESC LIMIT %s",
            [user_id, FEED_COUNT],
        )
        return list(cursor.fetchall())


def _ours_ids(user_id: int) -> list[tuple[int, int]]:
    """Our feed read alone: the same 30 from the stored feed (one Redis round trip)."""
    from feeds.selectors import home_feed_entries

    return home_feed_entries(user_id=user_id, count=FEED_COUNT)


def _ours_bare(user_id: int) -> bytes:
    """The feed endpoint's own body without the request cycle (no auth, rate limit, ninja)."""
    from feeds.selectors import home_feed_entries
    from instaclone.api.envelope import envelope
    from photos.selectors.hydration import Audience, media_objects

    entries = home_feed_entries(user_id=user_id, count=FEED_COUNT + 1)
    data = media_objects(
        entries[:FEED_COUNT],
        viewer_id=user_id,
        base_url="http://127.0.0.1",
        audience=Audience.FOLLOWED,
    )
    return json.dumps(envelope(data, {})).encode()


def _growth(
    client: Client, readers: dict[int, int], tokens: dict[int, str]
) -> tuple[list[Row], list[str], dict[str, Any]]:
    big = readers[GROWTH[-1]]
    naive = _naive_feed(big)
    if len(json.loads(naive)["data"]) != FEED_COUNT:
        raise RuntimeError("the naive feed is not full")
    ours = json.loads(_ours_bare(big))["data"]
    naive_ids = [m["id"] for m in json.loads(naive)["data"]]
    if [m["id"] for m in ours] != naive_ids:
        raise RuntimeError("the naive feed and ours disagree on the 30 newest photos")
    if _ours_ids(big) != [tuple(row) for row in _naive_ids(big)]:
        raise RuntimeError("the naive query and our feed read disagree")

    def reads(reader: int) -> Callable[[], float]:
        header = {"HTTP_AUTHORIZATION": f"Bearer {tokens[reader]}"}

        def go() -> float:
            start = time.perf_counter()
            for _ in range(READS_PER_ROUND):
                response = client.get(FEED_PATH, **header)
                if response.status_code != 200:
                    raise RuntimeError(f"feed answered {response.status_code}")
            return time.perf_counter() - start

        return go

    def loop(work: Callable[[int], bytes]) -> Callable[[], float]:
        return lambda: timed(lambda: [work(big) for _ in range(READS_PER_ROUND)])

    variants = {f"feed{n}": reads(readers[n]) for n in GROWTH}
    variants["naive"] = loop(_naive_feed)
    variants["bare"] = loop(_ours_bare)
    variants["naive_ids"] = loop(_naive_ids)  # type: ignore[arg-type]
    variants["ours_ids"] = loop(_ours_ids)  # type: ignore[arg-type]
    times = interleave(variants, rounds=GROWTH_ROUNDS)
    first, last = f"feed{GROWTH[0]}", f"feed{GROWTH[-1]}"
    growth = time_ratio(times[last], times[first])
    middle = time_ratio(times[f"feed{GROWTH[1]}"], times[first])
    versus = time_ratio(times["naive"], times[last])  # speed-up of ours: naive time / ours
    bare = time_ratio(times["naive"], times["bare"])
    query = time_ratio(times["naive_ids"], times["ours_ids"])  # speed-up of ours

    def ms(name: str) -> str:
        return f"{statistics.median(times[name]) / READS_PER_ROUND * 1000:.2f} ms"

    rows = [
        Row(
            benchmark=f"feed read in-process: {GROWTH[-1]:,} vs {GROWTH[0]} followees",
            subject=f"GET feed, {GROWTH[-1]:,} followees {ms(last)}",
            baseline=f"{GROWTH[0]} followees {ms(first)}",
            ratio=growth.median,
            spread=growth.spread,
            goal=f"<= {GOAL_GROWTH}",
            met=growth.median <= GOAL_GROWTH,
            details={"per_round": growth.per_round},
        ),
        Row(
            benchmark=f"feed read in-process: {GROWTH[1]} vs {GROWTH[0]} followees (info)",
            subject=f"GET feed, {GROWTH[1]} followees {ms(f'feed{GROWTH[1]}')}",
            baseline=f"{GROWTH[0]} followees {ms(first)}",
            ratio=middle.median,
            spread=middle.spread,
            goal="–",
            met=None,
            details={"per_round": middle.per_round},
        ),
        Row(
            benchmark=f"feed read at {GROWTH[-1]:,} followees: speed-up over the naive query",
            subject=f"ours, the 30 newest from the stored feed {ms('ours_ids')}",
            baseline=f"naive one-table query for the same 30 {ms('naive_ids')}",
            ratio=query.median,
            spread=query.spread,
            goal=f">= {GOAL_NAIVE}x",
            met=query.median >= GOAL_NAIVE,
            details={"per_round": query.per_round},
        ),
        Row(
            benchmark=f"feed at {GROWTH[-1]:,} followees: whole request vs naive feed (info)",
            subject=f"ours, whole request (test Client) {ms(last)}",
            baseline=f"naive query + authors + JSON {ms('naive')}",
            ratio=versus.median,
            spread=versus.spread,
            goal="–",
            met=None,
            details={"per_round": versus.per_round},
        ),
        Row(
            benchmark=f"feed at {GROWTH[-1]:,} followees: the same, like for like (info)",
            subject=f"ours, the endpoint's work without the request cycle {ms('bare')}",
            baseline=f"naive {ms('naive')}",
            ratio=bare.median,
            spread=bare.spread,
            goal="–",
            met=None,
            details={"per_round": bare.per_round},
        ),
    ]
    notes = [
        f"Growth: readers following {', '.join(f'{n:,}' for n in GROWTH)} accounts (the "
        f"smaller followee sets are prefixes of the largest), each followee with "
        f"{PHOTOS_PER_FOLLOWEE} photos (0–{MAX_LIKES} likes and 0–{MAX_COMMENTS} comments "
        f"each), so every feed is full; {READS_PER_ROUND} warm reads of "
        f"`GET {FEED_PATH}` per round through the Django test Client in this process, "
        f"{GROWTH_ROUNDS} interleaved rounds with the naive feed and our endpoint's bare work. "
        "The photos were posted round by round, so the newest 30 of the 1,000-followee feed "
        "have about 30 different owners, those of the 10-followee feed 10.",
        f"Naive baseline: `{NAIVE_PHOTO}` (id, owner_id, created, caption, filter_name, "
        f"media_key, like_count, comment_count; index on (owner_id, created)) and "
        f"`{NAIVE_FOLLOW}` (user_id, target_id) in the users database with the same "
        f"{PHOTOS_PER_FOLLOWEE * GROWTH[-1]:,} photos and the same follows; its feed is "
        "`... WHERE owner_id IN (SELECT target_id ...) ORDER BY created DESC, id DESC LIMIT "
        "30` (the id breaks ties of rows posted in the same millisecond), one "
        "query for the authors and the same v1 JSON list, encoded. It is a generous baseline: "
        "no request cycle (no token, no rate limit, no ninja validation), unsigned URLs, no "
        "likers or comments shown, no block or privacy checks; it answers the same 30 photo "
        "IDs (checked). The goal row compares the feed reads themselves (the part that "
        "depends on the number of followees): our one Redis range against the naive query, "
        "both answering the same 30 (photo, owner) pairs (checked); the two info rows add "
        "what each does to turn them into an answer. The tables are small and sit in shared "
        "buffers, and a few photos per followee keep its IN list cheap; an account with years "
        "of photos behind each followee makes it read and sort far more rows, ours not.",
    ]
    return rows, notes, {name: [round(t, 5) for t in ts] for name, ts in times.items()}


# --- 3. fan-out ----------------------------------------------------------------------------


def _fanout(made: Made) -> tuple[list[Row], list[str]]:
    from accounts.models import Follower
    from accounts.models.graph import EdgeStatus
    from feeds import store
    from feeds.services import photo_fanout
    from instaclone.sharding.connections import user_shard
    from instaclone.sharding.redis_client import redis_client
    from photos.models import Photo

    (owner,) = _make_users(made, 1, "owner")
    followers = _make_users(made, FANOUT_FOLLOWERS, "fan")
    made.feeds.extend([owner, *followers])
    with user_shard(owner) as target:
        Follower.objects.bulk_create(
            [Follower(user_id=owner, follower_id=f, status=EdgeStatus.ACTIVE) for f in followers],
            batch_size=2000,
        )
        photos = [Photo.objects.create(user_id=owner) for _ in range(FANOUT_ROUNDS + 1)]
    made.photos.setdefault(target.shard, []).extend(photo.id for photo in photos)
    # What feed_build_begin + feed_install(u, [], floor=0) leave: an empty feed, floor 0.
    redis = redis_client()
    ttl = settings.FEED_TTL_SECONDS
    for start in range(0, len(followers), 1000):
        pipe = redis.pipeline(transaction=False)
        for user_id in followers[start : start + 1000]:
            base = f"feed:{user_id}"
            pipe.delete(base, f"{base}:pending", f"{base}:building")
            pipe.set(f"{base}:floor", (0).to_bytes(8, "big"), ex=ttl)
        pipe.execute()
    store.feed_build_begin(owner)
    store.feed_install(owner, [], floor=0)
    if store.feed_floor(followers[-1]) != 0:
        raise RuntimeError("the followers' feeds were not stored")

    pending = iter(photos)

    def fan() -> None:
        photo_id = next(pending).id
        after = 0  # as feeds.tasks.photo_posted: continue from the last follower written
        while (last := photo_fanout(photo_id=photo_id, owner_id=owner, after=after)) is not None:
            after = last

    fake = iter(range(1, 10_000))

    def naive() -> None:
        member = store.pack(photos[-1].id + next(fake), owner)
        for user_id in followers:
            redis.zadd(f"feed:{user_id}", {member: 0})

    times = interleave(
        {"fanout": lambda: timed(fan), "naive": lambda: timed(naive)}, rounds=FANOUT_ROUNDS
    )
    subject_ids = {photo.id for photo in photos}
    reached = sum(
        1
        for user_id in followers[:: FANOUT_FOLLOWERS // 100]
        if subject_ids <= {photo_id for photo_id, _ in store.feed_members(user_id)}
    )
    ratio = time_ratio(times["fanout"], times["naive"])
    per = statistics.median(times["fanout"]) / FANOUT_FOLLOWERS * 1e6
    naive_per = statistics.median(times["naive"]) / FANOUT_FOLLOWERS * 1e6
    batches = -(-FANOUT_FOLLOWERS // settings.FEED_FANOUT_BATCH)
    row = Row(
        benchmark=f"fan-out: one photo to {FANOUT_FOLLOWERS:,} stored feeds",
        subject=f"photo_fanout over {batches} batches: {per:.2f} µs/follower",
        baseline=f"one ZADD round trip per follower: {naive_per:.2f} µs/follower",
        ratio=ratio.median,
        spread=ratio.spread,
        goal=f"<= {GOAL_FANOUT_US:g} µs/follower",
        met=per <= GOAL_FANOUT_US,
        details={
            "per_round": ratio.per_round,
            "fanout_s": times["fanout"],
            "naive_s": times["naive"],
        },
    )
    notes = [
        f"Fan-out: {FANOUT_FOLLOWERS:,} followers (Follower rows on the owner's shard), each "
        "with a stored empty feed (what feed_build_begin + feed_install(u, [], floor=0) leave, "
        f"written pipelined); each round fans one new photo out through `photo_fanout` over "
        f"every batch of {settings.FEED_FANOUT_BATCH} (the continuation of "
        "feeds.tasks.photo_posted, in this process, no Celery hop), against a loop of one "
        f"non-pipelined ZADD per follower on the same keys; {FANOUT_ROUNDS} interleaved "
        "rounds after a warm-up one. The ratio is fan-out time over the ZADD loop's; the goal "
        "is on the absolute µs per follower. The ZADD loop does less per feed (no floor check, "
        f"no EXPIRE, no trim). Sampled feeds holding every photo of the run: {reached}/100.",
    ]
    return [row], notes


# --- run -----------------------------------------------------------------------------------


def run() -> BenchResult:
    """Build the data, measure the three parts, delete everything."""
    made = Made()
    rows: list[Row] = []
    notes: list[str] = []
    details: dict[str, Any] = {}
    try:
        started = time.perf_counter()
        followees = _make_users(made, GROWTH[-1], "f")
        readers = dict(zip(GROWTH, _make_users(made, len(GROWTH), "r"), strict=True))
        made.feeds.extend(readers.values())
        follows = {readers[n]: followees[:n] for n in GROWTH}
        _follow(follows)
        posted = _post_photos(
            made,
            followees,
            rounds=PHOTOS_PER_FOLLOWEE,
            likers=followees,
            fan=readers[HTTP_FOLLOWEES],
        )
        tokens = _tokens(made, list(readers.values()))
        _naive_tables(made, posted, follows)
        client = Client(HTTP_HOST="127.0.0.1")
        for reader in readers.values():  # the first read rebuilds the feed from Postgres
            body = client.get(FEED_PATH, HTTP_AUTHORIZATION=f"Bearer {tokens[reader]}").json()
            if len(body.get("data", [])) != FEED_COUNT:
                raise RuntimeError(f"feed of reader {reader} is not full: {body}")
        setup = time.perf_counter() - started

        part, part_notes, details["http"] = _through_nginx(tokens[readers[HTTP_FOLLOWEES]])
        rows += part
        notes += part_notes
        part, part_notes = _round_trips(client, readers, tokens)
        rows += part
        notes += part_notes
        part, part_notes, details["growth_s"] = _growth(client, readers, tokens)
        rows += part
        notes += part_notes
        part, part_notes = _fanout(made)
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
        _cleanup(made)
    return BenchResult(name="feed", rows=rows, notes=notes, details=details)
