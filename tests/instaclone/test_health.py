"""/healthz, and the app degrading (not hanging) when a cache server freezes."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from instaclone.sharding.redis_client import redis_client
from tests.cache_servers import raw_client, store_on_both_servers

ALL = ["default", "shards_0", "shards_1"]


def _memcached_pid(server: str) -> int:
    client = raw_client(server)
    try:
        return int(client.stats()[b"pid"])
    finally:
        client.close()


@pytest.mark.django_db(databases=ALL)
def test_healthz_reports_every_dependency_ok() -> None:
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    expected = {"postgres:default", "postgres:shards_0", "postgres:shards_1", "redis", "s3"}
    expected |= {f"memcached:{server}" for server in settings.MEMCACHED_SERVERS}
    assert set(body["checks"]) == expected
    assert {check["status"] for check in body["checks"].values()} == {"ok"}
    assert all(check["latency_ms"] >= 0 for check in body["checks"].values())


@pytest.mark.django_db(databases=ALL)
def test_healthz_refuses_other_methods() -> None:
    assert Client().post("/healthz").status_code == 405


@pytest.mark.django_db(databases=ALL)
def test_frozen_redis_shows_as_down_within_seconds(frozen) -> None:  # type: ignore[no-untyped-def]
    pid = int(redis_client().info("server")["process_id"])
    with frozen(pid):
        started = time.monotonic()
        response = Client().get("/healthz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"]["redis"]["status"] == "down"
    assert response.json()["checks"]["postgres:default"]["status"] == "ok"
    assert elapsed < 5


@pytest.mark.django_db(databases=ALL)
def test_frozen_memcached_reads_as_a_miss_within_seconds(frozen) -> None:  # type: ignore[no-untyped-def]
    server = settings.MEMCACHED_SERVERS[0]
    keys = [f"health-probe-{i}" for i in range(40)]  # spread over both servers
    store_on_both_servers({key: "v" for key in keys})
    assert cache.get_many(keys) == {key: "v" for key in keys}
    with frozen(_memcached_pid(server)):
        started = time.monotonic()
        partial = cache.get_many(keys)
        cache.set("health-probe-write", "w")  # a write to a frozen server must not raise
        response = Client().get("/healthz")
        elapsed = time.monotonic() - started
    # The other server still answers its share; the frozen one's keys read as misses.
    assert 0 < len(partial) < len(keys)
    assert response.status_code == 503
    assert response.json()["checks"][f"memcached:{server}"]["status"] == "down"
    assert elapsed < 5
