"""What /healthz reports: each dependency ok or down, with its latency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from pymemcache.client.base import Client as MemcacheClient

from instaclone.sharding.health import Check, database_checks, redis_check, timed


def _memcached_check(server: str) -> Check:
    host, _, port = server.rpartition(":")

    def check() -> None:
        client = MemcacheClient(
            (host, int(port)),
            connect_timeout=settings.MEMCACHED_TIMEOUT,
            timeout=settings.MEMCACHED_TIMEOUT,
        )
        try:
            client.version()
        finally:
            client.close()

    return check


def _storage_check() -> None:
    storage = storages["default"]
    if hasattr(storage, "bucket"):
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
    else:
        storage.listdir("")


def all_checks() -> dict[str, Check]:
    """Return every dependency check by name."""
    checks = database_checks()
    checks["redis"] = redis_check()
    for server in settings.MEMCACHED_SERVERS:
        checks[f"memcached:{server}"] = _memcached_check(server)
    checks["s3"] = _storage_check
    return checks


def health_report() -> dict[str, Any]:
    """Run every check at once (each bounded by its client's timeouts) and report them."""
    checks = all_checks()
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        results = dict(zip(checks, pool.map(timed, checks.values()), strict=True))
    report = {
        name: {"status": "ok" if ok else "down", "latency_ms": round(latency, 2)}
        | ({"error": error} if error else {})
        for name, (ok, latency, error) in results.items()
    }
    healthy = all(ok for ok, _, _ in results.values())
    return {"status": "ok" if healthy else "degraded", "checks": report}
