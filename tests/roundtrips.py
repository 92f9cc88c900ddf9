"""Count the round trips a piece of code makes: Postgres statements, Redis calls, cache calls.

Redis: every command sent on its own, every pipeline and every script call is one. Memcached:
every call of the cache API (a ``get_many`` over both servers is one call). Postgres: every
statement, on this thread and on the shard pool's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import redis
import redis.client
from django.core.cache.backends.memcached import BaseMemcachedCache

from instaclone.sharding.instrumentation import count_queries

CACHE_CALLS = ("get", "get_many", "set", "set_many", "add", "delete", "delete_many", "incr")


@contextmanager
def count_round_trips() -> Iterator[Counter[str]]:
    """Count calls as ``postgres``, ``redis`` and ``memcached`` while the block runs."""
    counts: Counter[str] = Counter()

    def counted(name: str, original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return original(*args, **kwargs)

        return call

    with ExitStack() as stack:
        queries = stack.enter_context(count_queries())
        stack.enter_context(
            mock.patch.object(
                redis.Redis, "execute_command", counted("redis", redis.Redis.execute_command)
            )
        )
        stack.enter_context(
            mock.patch.object(
                redis.client.Pipeline,
                "execute",
                counted("redis", redis.client.Pipeline.execute),
            )
        )
        for method in CACHE_CALLS:
            stack.enter_context(
                mock.patch.object(
                    BaseMemcachedCache,
                    method,
                    counted("memcached", getattr(BaseMemcachedCache, method)),
                )
            )
        try:
            yield counts
        finally:
            counts["postgres"] = sum(queries.values())
