"""The photo->user map: compact in Redis, authoritative in Postgres, usable without Redis."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.conf import settings

from instaclone.sharding import idmap
from instaclone.sharding.ids import EPOCH_MS, compose_id
from instaclone.sharding.models import PhotoOwner
from instaclone.sharding.redis_client import redis_client

ALL = ["default", "shards_0", "shards_1"]


def _photo_id(owner: int, offset_ms: int, sequence: int = 0) -> int:
    millis = int(time.time() * 1000) - EPOCH_MS - offset_ms
    return compose_id(millis=millis, shard=owner % 64, sequence=sequence)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _own_redis(tmp_path: Path) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Run a throwaway Redis that the test may stop."""
    port = _free_port()
    server = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(tmp_path),
            "--hash-max-listpack-entries",
            "512",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port, server
    finally:
        server.kill()
        server.wait()


@contextmanager
def _redis_url(url: str) -> Iterator[None]:
    previous = settings.REDIS_URL
    settings.REDIS_URL = url
    redis_client.cache_clear()
    try:
        yield
    finally:
        settings.REDIS_URL = previous
        redis_client.cache_clear()


@pytest.mark.django_db(databases=ALL)
def test_map_round_trip_through_redis(django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    owners = {_photo_id(user, 1000 + user, user % 1024): user for user in range(1001, 1101)}
    owners[777] = 4242  # an imported photo: no shard bits
    with django_capture_on_commit_callbacks(execute=True):
        idmap.map_photos(owners)
    assert idmap.photo_owners(owners) == owners
    # Redis alone answers now: delete the Postgres rows and ask again.
    PhotoOwner.objects.filter(photo_id__in=owners).delete()
    assert idmap.photo_owners(owners) == owners
    idmap.unmap_photos(owners)
    assert idmap.photo_owners(owners) == {}


@pytest.mark.django_db(databases=ALL)
def test_owner_must_live_on_the_photos_shard() -> None:
    with pytest.raises(ValueError, match="user 65 does not live on shard 2 of this photo"):
        idmap.cache_owners({_photo_id(2, 0): 65})


def test_every_bucket_stays_a_listpack(tmp_path: Path, django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(7)
    with _own_redis(tmp_path) as (port, _), _redis_url(f"redis://127.0.0.1:{port}/0"):
        with django_db_blocker.unblock():
            owners = {}
            # A day of uploads at 60 a second from 50,000 users (a 2011 Instagram pace).
            for i in range(20_000):
                user = rng.randrange(1, 50_000)
                owners[_photo_id(user, rng.randrange(86_400_000), i % 1024)] = user
            idmap.cache_owners(owners)
            client = redis.Redis(port=port)
            keys = client.keys("pm:*")
            assert keys
            assert {client.object("encoding", key) for key in keys} == {b"listpack"}
            assert max(client.hlen(key) for key in keys) <= settings.IDMAP_MAX_BUCKET_ENTRIES
            sample = dict(rng.sample(sorted(owners.items()), 500))
            assert idmap.photo_owners(sample) == sample


@pytest.mark.django_db(databases=ALL)
def test_lookups_fall_back_to_postgres_when_redis_is_stopped(tmp_path: Path) -> None:
    owners = {_photo_id(user, 5000 + user): user for user in range(2001, 2011)}
    PhotoOwner.objects.bulk_create(PhotoOwner(photo_id=p, user_id=u) for p, u in owners.items())
    with _own_redis(tmp_path) as (port, server), _redis_url(f"redis://127.0.0.1:{port}/0"):
        idmap.cache_owners(owners)
        assert idmap.photo_owners(owners) == owners
        server.terminate()
        server.wait()
        started = time.monotonic()
        assert idmap.photo_owners(owners) == owners
        assert time.monotonic() - started < 3


@pytest.mark.django_db(databases=ALL)
def test_frozen_redis_degrades_within_seconds(frozen) -> None:  # type: ignore[no-untyped-def]
    owners = {_photo_id(3001, 9000): 3001}
    PhotoOwner.objects.bulk_create(PhotoOwner(photo_id=p, user_id=u) for p, u in owners.items())
    client = redis_client()
    client.ping()  # the pool holds a live connection into the server about to freeze
    pid = int(client.info("server")["process_id"])
    with frozen(pid):
        started = time.monotonic()
        assert idmap.photo_owners(owners) == owners
        elapsed = time.monotonic() - started
    assert elapsed < 5, f"lookup took {elapsed:.1f}s with Redis frozen"
