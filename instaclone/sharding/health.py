"""Reachability of the databases and Redis, for /healthz."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connections

from instaclone.sharding.redis_client import redis_client

Check = Callable[[], None]


def _database_check(alias: str) -> Check:
    def check() -> None:
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            # Health checks run in short-lived threads; their connections must not linger.
            connections[alias].close()

    return check


def database_checks() -> dict[str, Check]:
    """Return a check per database alias: the users database and every shard server."""
    return {f"postgres:{alias}": _database_check(alias) for alias in settings.DATABASES}


def redis_check() -> Check:
    """Return a check that pings Redis."""

    def check() -> None:
        redis_client().ping()

    return check


def timed(check: Check) -> tuple[bool, float, str]:
    """Run a check; return (ok, latency in ms, error text)."""
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - any failure means the dependency is down
        return False, (time.perf_counter() - started) * 1000, f"{type(exc).__name__}: {exc}"
    return True, (time.perf_counter() - started) * 1000, ""
