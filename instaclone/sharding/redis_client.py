"""The project's Redis client, with short timeouts and few retries."""

from __future__ import annotations

import functools

import redis
from django.conf import settings
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

# Errors after which a read falls back to Postgres instead of failing the request.
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)


@functools.cache
def redis_client() -> redis.Redis:
    """Return the shared client for ``REDIS_URL`` (one pool per process)."""
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=1),
        retry_on_timeout=False,
        health_check_interval=30,
    )
