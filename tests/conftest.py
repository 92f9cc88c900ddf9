"""Shared fixtures: the test stack's databases are already migrated by ``make test``."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from django.db import connections

from accounts.models import Block, BlockedBy, Follower, Following, GraphCounts, GraphOutbox, User
from instaclone.sharding.connections import user_shard
from instaclone.sharding.instrumentation import count_queries


@pytest.fixture(scope="session")
def django_db_setup() -> None:
    """Use the test stack's own databases as they are (migrated and sharded by make test).

    The test stack is a separate set of servers from the development one, so tests never
    touch development data; each test still runs in a transaction that is rolled back.
    """


@pytest.fixture
def query_counter():  # type: ignore[no-untyped-def]
    """Return the ``count_queries`` context manager (counts pool threads' statements too)."""
    return count_queries


@pytest.fixture(scope="session", autouse=True)
def _shard_topology(django_db_blocker):  # type: ignore[no-untyped-def]
    """Load and verify the shard topology once, as a worker does at startup."""
    from instaclone.sharding.topology import verify_topology

    with django_db_blocker.unblock():
        verify_topology()


SHARDED = (Following, Follower, Block, BlockedBy, GraphCounts, GraphOutbox)


def forget_users(user_ids: list[int]) -> None:
    """Delete users, their photos (rows, objects, indexes) and their graph rows."""
    from photos.models import Liked, Photo, UploadKey
    from photos.services.comments import photo_delete

    for user_id in user_ids:
        with user_shard(user_id):
            photo_ids = list(Photo.objects.filter(user_id=user_id).values_list("id", flat=True))
        for photo_id in photo_ids:
            photo_delete(user_id=user_id, photo_id=photo_id)
        with user_shard(user_id):
            Liked.objects.filter(user_id=user_id).delete()
            UploadKey.objects.filter(user_id=user_id).delete()
    for user_id in user_ids:
        with user_shard(user_id):
            for model in SHARDED:
                model.objects.filter(user_id=user_id).delete()
    User.objects.filter(id__in=user_ids).delete()


@pytest.fixture
def live_db(django_db_blocker) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Let the test commit for real (on_commit hooks, threads, several connections)."""
    with django_db_blocker.unblock():
        yield
        for alias in connections:
            connections[alias].close()


@pytest.fixture
def make_user(live_db) -> Iterator[Callable[..., User]]:  # type: ignore[no-untyped-def]
    """Create committed users; delete them and their graph rows after the test."""
    made: list[int] = []

    def make(*, private: bool = False, active: bool = True, name: str = "u") -> User:
        user = User.objects.create_user(
            username=f"{name}_{uuid.uuid4().hex[:12]}",
            email=f"{uuid.uuid4().hex[:8]}@example.com",
            password="correct horse battery staple",
            is_private=private,
            is_active=active,
        )
        made.append(user.id)
        return user

    yield make
    forget_users(made)


def _edge_statuses(follower_id: int, target_id: int) -> tuple[str | None, str | None]:
    """Return (primary status, mirror status) of a follow edge."""
    with user_shard(follower_id):
        primary = (
            Following.objects.filter(user_id=follower_id, target_id=target_id)
            .values_list("status", flat=True)
            .first()
        )
    with user_shard(target_id):
        mirror = (
            Follower.objects.filter(user_id=target_id, follower_id=follower_id)
            .values_list("status", flat=True)
            .first()
        )
    return primary, mirror


@pytest.fixture
def edges() -> Callable[[int, int], tuple[str | None, str | None]]:
    """Return a reader of both sides of a follow edge."""
    return _edge_statuses


@pytest.fixture
def forget() -> Callable[[list[int]], None]:
    """Return ``forget_users`` for tests that create accounts some other way."""
    return forget_users


@contextmanager
def _frozen(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        _wait_stopped(pid)
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def _wait_stopped(pid: int, seconds: float = 5.0) -> None:
    """Wait until every thread of ``pid`` has stopped: SIGSTOP reaches threads one by one, and
    a thread already running could still answer a request sent right after the signal."""
    import time
    from pathlib import Path

    deadline = time.monotonic() + seconds
    while True:
        states = []
        for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
            with contextlib.suppress(OSError):
                states.append(stat.read_text().rsplit(")", 1)[1].split()[0])
        if states and all(state in ("T", "t") for state in states):
            return
        assert time.monotonic() < deadline, f"pid {pid} did not stop: thread states {states}"
        time.sleep(0.01)


def _memcached_pids() -> list[int]:
    from django.conf import settings
    from pymemcache.client.base import Client as MemcacheClient

    pids = []
    for server in settings.MEMCACHED_SERVERS:
        host, _, port = server.rpartition(":")
        probe = MemcacheClient((host, int(port)), connect_timeout=1, timeout=1)
        try:
            pids.append(int(probe.stats()[b"pid"]))
        finally:
            probe.close()
    return pids


@pytest.fixture
def memcached_pids() -> Callable[[], list[int]]:
    """Return a reader of the test stack's Memcached server PIDs (to freeze them)."""
    return _memcached_pids


@pytest.fixture
def frozen() -> Callable[[int], AbstractContextManager[None]]:
    """Return a context manager that freezes a server process (SIGSTOP) while it runs."""
    return _frozen


@pytest.fixture
def token_for(live_db) -> Iterator[Callable[..., str]]:  # type: ignore[no-untyped-def]
    """Issue real OAuth access tokens for users; the test's client app goes away after it."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import AccessToken, Application

    app = Application.objects.create(
        name=f"test-{secrets.token_hex(4)}",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_PASSWORD,
    )

    def issue(user: User, scope: str = "basic publish comments relationships likes") -> str:
        token = secrets.token_urlsafe(24)
        AccessToken.objects.create(
            user=user,
            application=app,
            token=token,
            scope=scope,
            expires=timezone.now() + timedelta(hours=1),
        )
        return token

    yield issue
    AccessToken.objects.filter(application=app).delete()
    app.delete()
