"""/healthz, and the app degrading (not hanging) when a cache server freezes."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from pymemcache.client.base import Client as MemcacheClient

from instaclone.sharding.redis_client import redis_client

ALL = ["default", "shards_0", "shards_1"]


def _memcached_pid(server: str) -> int:
    client = _raw(server)
    try:
        return int(client.stats()[b"pid"])
    finally:
        client.close()


def _raw(server: str) -> MemcacheClient:
    host, _, port = server.rpartition(":")
    return MemcacheClient((host, int(port)), connect_timeout=1, timeout=1)


def _store_on_both_servers(keys: list[str]) -> None:
    """Store ``keys`` through the cache so that each server holds some of them.

    A server frozen by an earlier test stays out of the client's rotation for up to twice its
    dead_timeout (pymemcache looks for servers to bring back once per dead_timeout), and
    meanwhile every key goes to the other one; so check on the servers themselves, and store
    again until both are back.
    """
    stored = [cache.make_key(key) for key in keys]
    dead_timeout = settings.CACHES["default"]["OPTIONS"]["dead_timeout"]
    deadline = time.monotonic() + 2 * dead_timeout + 5
    while True:
        for server in settings.MEMCACHED_SERVERS:
            client = _raw(server)
            try:
                client.delete_many(stored)
            finally:
                client.close()
        cache.set_many({key: "v" for key in keys})
        held = []
        for server in settings.MEMCACHED_SERVERS:
            client = _raw(server)
            try:
                held.append(len(client.get_many(stored)))
            finally:
                client.close()
        if all(held):
            return
        assert time.monotonic() < deadline, f"keys per server stayed {held}"
        time.sleep(0.5)


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
    _store_on_both_servers(keys)
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
