"""Reach one logical shard through the ORM, or many with one round trip per server.

A shard context names the logical shard; the router sends sharded models to the server that
holds it, and the connection's ``search_path`` is set to the shard's schema on entry. Reads over
many shards use schema-qualified SQL instead, one ``UNION ALL`` per physical server.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created
from django.dispatch import receiver

from instaclone.sharding.ids import has_shard_bits, shard_of_id
from instaclone.sharding.instrumentation import installed
from instaclone.sharding.topology import current_topology, schema_name


class ShardContextRequired(LookupError):
    """A sharded model was queried outside a shard context."""


class UnknownPhoto(LookupError):
    """A photo ID names no placed shard, or carries no shard bits and the map has no owner."""


@dataclass(frozen=True, slots=True)
class ShardTarget:
    """A logical shard with its schema and the alias of the server holding it."""

    shard: int
    schema: str
    alias: str


_active: contextvars.ContextVar[ShardTarget | None] = contextvars.ContextVar(
    "instaclone_active_shard", default=None
)
# Each connection (one per alias per thread) remembers the search_path last set on it outside
# any transaction that could undo it, so a shard context re-entered needs no extra round trip.
_PATH_ATTRIBUTE = "instaclone_search_path"


def forget_search_path(connection: Any) -> None:
    """Make the next shard context on this connection set its search_path again."""
    setattr(connection, _PATH_ATTRIBUTE, None)


@receiver(connection_created)
def _on_connection_created(sender: object, connection: Any, **_: object) -> None:
    forget_search_path(connection)


def shard_for_user(user_id: int) -> int:
    """Return the logical shard of a user (``user_id % N``)."""
    if user_id <= 0:
        raise ValueError(f"user ID must be positive, got {user_id}")
    return user_id % current_topology().logical_shards


def target_for_shard(shard: int) -> ShardTarget:
    """Return where a logical shard lives."""
    return ShardTarget(shard, schema_name(shard), current_topology().server_for_shard(shard))


def shard_for_photo(photo_id: int) -> int:
    """Return the logical shard of a photo: its own bits, or its owner's shard via the map."""
    if has_shard_bits(photo_id):
        shard = shard_of_id(photo_id)
        if shard >= current_topology().logical_shards:
            # 13 bits name up to 8192 shards; an ID naming one that does not exist is no photo.
            raise UnknownPhoto(f"photo {photo_id} names logical shard {shard}, which is not placed")
        return shard
    from instaclone.sharding.idmap import photo_owner

    owner = photo_owner(photo_id)
    if owner is None:
        raise UnknownPhoto(f"photo {photo_id} has no shard bits and no owner in the map")
    return shard_for_user(owner)


def active_target() -> ShardTarget:
    """Return the shard of the enclosing shard context; raise outside one."""
    target = _active.get()
    if target is None:
        raise ShardContextRequired(
            "sharded data needs a shard context: use_shard(), user_shard() or photo_shard()"
        )
    return target


def _set_search_path(target: ShardTarget) -> None:
    connection = connections[target.alias]
    in_transaction = connection.in_atomic_block
    if not in_transaction:
        # Django checks a reused connection's health at the first cursor of a request and, if
        # the session died (a server restart, a killed backend), reconnects right there: under
        # a remembered path that first cursor would be the query itself, on a new session with
        # the default path. Run the check now (it is done once per request either way).
        connection.close_if_health_check_failed()
    # A closed connection (CONN_MAX_AGE passed, a failed health check, the worker's end of a
    # job) keeps the wrapper and its remembered path; the next query opens a new session.
    remembered = connection.connection is not None and not in_transaction
    if remembered and getattr(connection, _PATH_ATTRIBUTE, None) == target.schema:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {target.schema}")
    # A SET inside a transaction is undone by its rollback, so only remember autocommitted ones.
    setattr(connection, _PATH_ATTRIBUTE, None if in_transaction else target.schema)


@contextmanager
def use_shard(shard: int) -> Iterator[ShardTarget]:
    """Run the enclosed ORM queries on sharded models against one logical shard.

    Contexts nest: leaving an inner one restores the outer shard, also when both shards share
    a server and so a connection.
    """
    target = target_for_shard(shard)
    outer = _active.get()
    token = _active.set(target)
    try:
        _set_search_path(target)
        yield target
    finally:
        _active.reset(token)
        if outer is not None and outer.alias == target.alias and outer.schema != target.schema:
            _set_search_path(outer)
        elif connections[target.alias].in_atomic_block:
            forget_search_path(connections[target.alias])


@contextmanager
def user_shard(user_id: int) -> Iterator[ShardTarget]:
    """Run the enclosed ORM queries against the shard holding a user's data."""
    with use_shard(shard_for_user(user_id)) as target:
        yield target


@contextmanager
def photo_shard(photo_id: int) -> Iterator[ShardTarget]:
    """Run the enclosed ORM queries against the shard holding a photo."""
    with use_shard(shard_for_photo(photo_id)) as target:
        yield target


def query_shards(sql: str, params_by_shard: Mapping[int, Sequence[Any]]) -> list[tuple[Any, ...]]:
    """Run ``sql`` on each listed shard; one ``UNION ALL`` round trip per physical server.

    ``sql`` names tables as ``{schema}.table``; each shard's parameters fill its copy. The servers
    are asked at the same time, so the read costs about one round trip, not one per server. Rows
    come back in server order, each server's rows in the order Postgres returns them.
    """
    statements = []
    for alias, shards in current_topology().group_by_server(params_by_shard).items():
        parts = [f"({sql.format(schema=schema_name(shard))})" for shard in shards]
        params = [value for shard in shards for value in params_by_shard[shard]]
        statements.append((alias, " UNION ALL ".join(parts), params))
    # Writes of an open transaction are visible only on this thread's own connection, so a
    # server inside one is asked from here; the others go to the pool.
    pooled = [s for s in statements if not connections[s[0]].in_atomic_block][1:]
    futures = {s[0]: _shard_pool().submit(_fetch_pooled, *s) for s in pooled}
    rows: list[tuple[Any, ...]] = []
    for alias, statement, params in statements:
        if alias in futures:
            rows.extend(futures[alias].result())
        else:
            rows.extend(_fetch(alias, statement, params))
    return rows


def _fetch(alias: str, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    with connections[alias].cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


def _fetch_pooled(alias: str, statement: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    connection = connections[alias]
    # No request cycle runs on pool threads; retire broken or old connections here instead.
    connection.close_if_unusable_or_obsolete()
    with installed(alias):
        return _fetch(alias, statement, params)


@functools.cache
def _shard_pool() -> ThreadPoolExecutor:
    """Return this process's pool for asking shard servers at the same time."""
    return ThreadPoolExecutor(
        max_workers=max(1, len(current_topology().servers)), thread_name_prefix="shard-read"
    )
