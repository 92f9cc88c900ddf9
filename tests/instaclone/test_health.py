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


LIVENESS = b'{"status": "ok"}'


@pytest.mark.django_db(databases=ALL)
def test_healthz_from_outside_through_nginx_is_liveness_only() -> None:
    # nginx connects from 127.0.0.1 and appends the address it saw to X-Forwarded-For.
    response = Client(REMOTE_ADDR="127.0.0.1").get("/healthz", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert response.status_code == 200
    assert response.content == LIVENESS


@pytest.mark.django_db(databases=ALL)
def test_healthz_ignores_a_forged_loopback_hop() -> None:
    # Only the hop nginx wrote (the last) counts; the client's own "127.0.0.1" does not.
    response = Client(REMOTE_ADDR="127.0.0.1").get(
        "/healthz", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9"
    )
    assert response.status_code == 200
    assert response.content == LIVENESS


@pytest.mark.django_db(databases=ALL)
def test_healthz_to_a_direct_remote_client_is_liveness_only() -> None:
    response = Client(REMOTE_ADDR="198.51.100.4").get("/healthz")
    assert response.status_code == 200
    assert response.content == LIVENESS


@pytest.mark.django_db(databases=ALL)
def test_healthz_from_outside_shows_details_only_to_staff(make_user) -> None:  # type: ignore[no-untyped-def]
    member = make_user(name="member")
    staff = make_user(name="staff")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    outside = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}

    as_member = Client(**outside)
    as_member.force_login(member)
    assert as_member.get("/healthz").content == LIVENESS

    as_staff = Client(**outside)
    as_staff.force_login(staff)
    response = as_staff.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {check["status"] for check in body["checks"].values()} == {"ok"}
    assert "postgres:default" in body["checks"]
