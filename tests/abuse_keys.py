"""Forget the abuse-limit counters a test created, so reruns within a window start clean."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from accounts.limits import KEY_PREFIX
from instaclone.sharding.redis_client import redis_client


def _abuse_keys() -> set[bytes]:
    return set(redis_client().scan_iter(match=f"{KEY_PREFIX}:*", count=1000))


@contextmanager
def abuse_keys_forgotten() -> Iterator[None]:
    """Delete, on exit, every abuse-limit key that appeared in Redis meanwhile."""
    before = _abuse_keys()
    yield
    created = _abuse_keys() - before
    if created:
        redis_client().delete(*created)
