"""Create and upgrade the logical shard schemas on every server.

Each schema gets its own ID sequence, its own ``next_id()`` and the tables of the sharded models,
made by running the sharded apps' Django migrations with ``search_path`` set to the schema. The
migration history is recorded per schema, so a run that fails half way resumes where it stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.db import DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from instaclone.sharding.connections import forget_search_path
from instaclone.sharding.ids import EPOCH_MS, SEQUENCE_BITS
from instaclone.sharding.placement import placement_of
from instaclone.sharding.routing import migrating_shard_schemas
from instaclone.sharding.topology import Topology, schema_name, server_label

# The sequence counts in units of 1/1024 ms since the epoch: time bits and sequence bits
# together, so every ID is one nextval() and unique by construction, whatever the clock does.
# When the sequence lags the clock by more than CATCH_UP_LAG units, it is moved up to the clock
# (under the shard's advisory lock), so IDs carry their time to within about 2.5 ms.
#
# Why the move never goes below an issued value: while one session moves the sequence from v
# to the clock T, others keep calling nextval(). A caller whose clock reads later than T hands
# out a value only if it is within CATCH_UP_LAG of that clock; below that it waits for the lock.
# So the values between v and T - CATCH_UP_LAG can only be taken by callers that then wait, or
# by calls already in flight with an older clock reading: at most two per session. The move
# happens only when v is below T - CATCH_UP_LAG - CATCH_UP_MARGIN, and a server admits at most
# CATCH_UP_MARGIN / 2 sessions (checked by migrate_all), so the sequence cannot reach T first.
CATCH_UP_LAG = 1 << 11  # 2 ms
CATCH_UP_MARGIN = 512
ADVISORY_LOCK_BASE = 0x1D5E0000

# The ID for the sequence value v: time bits from v's high part, then the shard, then v's low
# ten bits.
_COMPOSE = "((v >> 10) << 23) | ({shard} << 10) | (v & 1023)"
_NOW_UNITS = (
    f"(((floor(date_part('epoch', clock_timestamp()) * 1000))::bigint - {EPOCH_MS})"
    f" << {SEQUENCE_BITS})"
)
# The fast path compares in float8 (exact below 2**53 units, past the year 2200), skipping the
# rounding and shifting that only the slow path needs. One CASE is one PL/pgSQL expression, a
# statement fewer than IF ... RETURN: a few percent of a batch insert. PL/pgSQL rather than an
# inlinable SQL function: Postgres would inline SQL into every single-row INSERT it plans, and
# that planning cost more than the call (see the README's ID benchmark).
_NEXT_ID_BODY = """
DECLARE
    v bigint := nextval('{schema}.id_seq');
BEGIN
    RETURN CASE WHEN v >= {threshold} THEN {compose} ELSE {schema}.id_catch_up({now_units}) END;
END
"""

ID_FUNCTIONS_SQL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE SEQUENCE IF NOT EXISTS {schema}.id_seq AS bigint MINVALUE 0 START 0;

-- The slow path: the sequence lags the clock. Take the shard's ID lock and, if it still lags,
-- move it up to the clock. Callers that lag wait here rather than carry on, so while the
-- sequence is being moved only a value or two per session can be handed out, fewer than the
-- margin that made the move safe: setval() never goes below a value already issued.
CREATE OR REPLACE FUNCTION {schema}.id_catch_up(now_units bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v bigint;
BEGIN
    PERFORM pg_advisory_lock({lock_key});
    BEGIN
        v := nextval('{schema}.id_seq');
        IF v < now_units - {lag} - {margin} THEN
            PERFORM setval('{schema}.id_seq', now_units, true);
            v := now_units;
        END IF;
        PERFORM pg_advisory_unlock({lock_key});
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- A session-level lock outlives the error; never leave it held.
        PERFORM pg_advisory_unlock({lock_key});
        RAISE;
    END;
    RETURN {compose};
END
$fn$;

-- The column default of every sharded table. Ahead of the clock (over 1024 IDs in a
-- millisecond, or the clock stepped back) it borrows the next milliseconds.
CREATE OR REPLACE FUNCTION {schema}.next_id() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$ {next_id_clock} $fn$;

-- The same with the time injected, for tests; production defaults never call it.
CREATE OR REPLACE FUNCTION {schema}.next_id_at(now_ms bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$ {next_id_injected} $fn$;
"""


def id_functions_sql(shard: int) -> str:
    """Return the DDL that creates a shard's schema, ID sequence and ID functions."""
    schema = schema_name(shard)

    compose = _COMPOSE.format(shard=shard)
    offset = (EPOCH_MS << SEQUENCE_BITS) + CATCH_UP_LAG

    def body(now_units: str, threshold: str) -> str:
        return _NEXT_ID_BODY.format(
            schema=schema, threshold=threshold, compose=compose, now_units=now_units
        )

    return ID_FUNCTIONS_SQL.format(
        schema=schema,
        lag=CATCH_UP_LAG,
        margin=CATCH_UP_MARGIN,
        lock_key=ADVISORY_LOCK_BASE + shard,
        compose=compose,
        next_id_clock=body(
            _NOW_UNITS,
            f"date_part('epoch', clock_timestamp()) * {1000 << SEQUENCE_BITS} - {offset}",
        ),
        next_id_injected=body(
            f"((now_ms - {EPOCH_MS}) << {SEQUENCE_BITS})", f"(now_ms << {SEQUENCE_BITS}) - {offset}"
        ),
    )


def sharded_app_labels() -> list[str]:
    """Return the apps that own at least one sharded model."""
    labels = {
        model._meta.app_label for model in apps.get_models() if placement_of(model) == "sharded"
    }
    return sorted(labels)


class SchemaMigrationError(RuntimeError):
    """One schema could not be created or upgraded; the ones before it are done."""


@dataclass(frozen=True, slots=True)
class SchemaResult:
    """What one run did to one schema."""

    shard: int
    alias: str
    applied: tuple[str, ...]


def migrate_shard(shard: int, alias: str) -> SchemaResult:
    """Create or upgrade one logical shard's schema on the server ``alias``."""
    schema = schema_name(shard)
    connection = connections[alias]
    with transaction.atomic(using=alias), connection.cursor() as cursor:
        cursor.execute(id_functions_sql(shard))
    forget_search_path(connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {schema}")
    labels = sharded_app_labels()
    try:
        with migrating_shard_schemas():
            executor = MigrationExecutor(connection)
            leaves = [node for node in executor.loader.graph.leaf_nodes() if node[0] in labels]
            plan = executor.migration_plan(leaves)
            executor.migrate(leaves, plan=plan)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET search_path")
    # The plan also records the users-database apps they depend on (auth, contenttypes), whose
    # operations the router skips here; report only what built this schema.
    return SchemaResult(
        shard=shard,
        alias=alias,
        applied=tuple(f"{m.app_label}.{m.name}" for m, _ in plan if m.app_label in labels),
    )


def check_session_limit(alias: str) -> None:
    """Refuse a server that admits more sessions than next_id()'s catch-up is safe for."""
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT setting::int FROM pg_settings WHERE name = 'max_connections'")
        (limit,) = cursor.fetchone()
    if limit > CATCH_UP_MARGIN // 2:
        raise SchemaMigrationError(
            f"{server_label(alias)} has max_connections={limit}; next_id() is safe with at most "
            f"{CATCH_UP_MARGIN // 2} sessions per server (put a connection pooler in front)"
        )


def migrate_all(
    topology: Topology, *, report: Callable[[int, int, SchemaResult], None] | None = None
) -> list[SchemaResult]:
    """Create or upgrade every schema on every server, in shard order; stop at the first error."""
    for alias in topology.servers:
        check_session_limit(alias)
    results: list[SchemaResult] = []
    total = topology.logical_shards
    for shard in range(total):
        alias = topology.server_for_shard(shard)
        try:
            result = migrate_shard(shard, alias)
        except DatabaseError as exc:
            raise SchemaMigrationError(
                f"{schema_name(shard)} on {server_label(alias)} failed: {str(exc).strip()}. "
                f"The {len(results)} schema(s) before it are done; fix the cause and rerun."
            ) from exc
        results.append(result)
        if report is not None:
            report(len(results), total, result)
    return results


def persist_placement(topology: Topology) -> int:
    """Write the placement to the users database when none is stored; return rows written."""
    from instaclone.sharding.models import ShardPlacement

    with transaction.atomic(using="default"):
        if ShardPlacement.objects.using("default").exists():
            return 0
        ShardPlacement.objects.using("default").bulk_create(
            ShardPlacement(logical_shard=shard, server=alias)
            for shard, alias in enumerate(topology.placement)
        )
    return topology.logical_shards
