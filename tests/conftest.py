"""Shared fixtures: the test stack's databases are already migrated by ``make test``."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connections


@pytest.fixture(scope="session")
def django_db_setup() -> None:
    """Use the test stack's own databases as they are (migrated and sharded by make test).

    The test stack is a separate set of servers from the development one, so tests never
    touch development data; each test still runs in a transaction that is rolled back.
    """


@contextmanager
def count_queries() -> Iterator[Counter[str]]:
    """Count statements sent to each database alias while the block runs."""
    counts: Counter[str] = Counter()
    wrappers = []

    for alias in connections:

        def wrapper(execute, sql, params, many, context, alias=alias):  # type: ignore[no-untyped-def]
            counts[alias] += 1
            return execute(sql, params, many, context)

        wrappers.append((alias, connections[alias].execute_wrapper(wrapper)))
    for _, manager in wrappers:
        manager.__enter__()
    try:
        yield counts
    finally:
        for _, manager in reversed(wrappers):
            manager.__exit__(None, None, None)


@pytest.fixture
def query_counter():  # type: ignore[no-untyped-def]
    """Return the ``count_queries`` context manager."""
    return count_queries


@pytest.fixture(scope="session", autouse=True)
def _shard_topology(django_db_blocker):  # type: ignore[no-untyped-def]
    """Load and verify the shard topology once, as a worker does at startup."""
    from instaclone.sharding.topology import verify_topology

    with django_db_blocker.unblock():
        verify_topology()
