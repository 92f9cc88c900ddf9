"""Fixtures for tests that must commit: users made for the test and removed after it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from django.db import connections

from accounts.models import Block, BlockedBy, Follower, Following, GraphCounts, GraphOutbox, User
from instaclone.sharding.connections import user_shard

SHARDED = (Following, Follower, Block, BlockedBy, GraphCounts, GraphOutbox)


def _forget(user_ids: list[int]) -> None:
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
    _forget(made)


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
