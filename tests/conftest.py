"""Shared fixtures: the test stack's databases are already migrated by ``make test``."""

from __future__ import annotations

import pytest

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
