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

from instaclone.sharding.connections import _search_paths
from instaclone.sharding.ids import EPOCH_MS, SEQUENCE_BITS
from instaclone.sharding.placement import placement_of
from instaclone.sharding.routing import migrating_shard_schemas
from instaclone.sharding.topology import Topology, schema_name, server_label

# The sequence counts in units of 1/1024 ms since the epoch: time bits and sequence bits
# together, so every ID is one nextval() and unique by construction, whatever the clock does.
# When the sequence lags the clock by more than CATCH_UP_LAG units, it is moved up to the clock
# (under the shard's advisory lock), so IDs carry their time to within CATCH_UP_LAG. Moving it
# is safe while fewer than CATCH_UP_LAG / 2 sessions use one shard at once (see id_catch_up);
# max_connections stays far below that.
CATCH_UP_LAG = 1 << 11  # 2 ms
ADVISORY_LOCK_BASE = 0x1D5E0000

# The ID for the sequence value v: time bits from v's high part, then the shard, then v's low
# ten bits.
_COMPOSE = "((({v}) >> 10) << 23) | ({shard} << 10) | (({v}) & 1023)"
_NOW_UNITS = (
    f"(((floor(date_part('epoch', clock_timestamp()) * 1000))::bigint - {EPOCH_MS})"
    f" << {SEQUENCE_BITS})"
)
# The fast path is one SQL expression, which Postgres inlines into the INSERT that uses the
# column default (a PL/pgSQL call costs more than the rest of the work; see the README's ID
# benchmark). currval() re-reads, in this session, the value nextval() just returned. The
# comparison runs in float8 (exact below 2**53 units, past the year 2200) to skip the rounding
# and shifting that only the slow path needs.
_NEXT_ID_EXPRESSION = """
    SELECT CASE
        WHEN nextval('{schema}.id_seq') >= {threshold}
        THEN {compose_current}
        ELSE {schema}.id_catch_up({now})
    END
"""

ID_FUNCTIONS_SQL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE SEQUENCE IF NOT EXISTS {schema}.id_seq AS bigint MINVALUE 0 START 0;

-- The slow path: the sequence lags the clock. Take the shard's ID lock and, if it still lags,
-- move it up to the clock. Callers that lag wait here rather than carry on, so while the
-- sequence is being moved only about one value per session can be handed out, far fewer than
-- the lag that made the move safe: setval() never goes below a value already issued.
CREATE OR REPLACE FUNCTION {schema}.id_catch_up(now_units bigint) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v bigint;
BEGIN
    PERFORM pg_advisory_lock({lock_key});
    BEGIN
        v := nextval('{schema}.id_seq');
        IF v < now_units - {lag} THEN
            PERFORM setval('{schema}.id_seq', now_units, true);
            v := now_units;
        END IF;
        PERFORM pg_advisory_unlock({lock_key});
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- A session-level lock outlives the error; never leave it held.
        PERFORM pg_advisory_unlock({lock_key});
        RAISE;
    END;
    RETURN {compose_v};
END
$fn$;

-- The column default of every sharded table. Ahead of the clock (over 1024 IDs in a
-- millisecond, or the clock stepped back) it borrows the next milliseconds.
CREATE OR REPLACE FUNCTION {schema}.next_id() RETURNS bigint
LANGUAGE sql VOLATILE AS $fn$ {next_id_clock} $fn$;

-- The same with the time injected, for tests; production defaults never call it.
CREATE OR REPLACE FUNCTION {schema}.next_id_at(now_ms bigint) RETURNS bigint
LANGUAGE sql VOLATILE AS $fn$ {next_id_injected} $fn$;
"""


def id_functions_sql(shard: int) -> str:
    """Return the DDL that creates a shard's schema, ID sequence and ID functions."""
    schema = schema_name(shard)

    def next_id(now: str, threshold: str) -> str:
        current = f"currval('{schema}.id_seq')"
        return _NEXT_ID_EXPRESSION.format(
            schema=schema,
            now=now,
            threshold=threshold,
            compose_current=_COMPOSE.format(v=current, shard=shard),
        )

    offset = (EPOCH_MS << SEQUENCE_BITS) + CATCH_UP_LAG
    return ID_FUNCTIONS_SQL.format(
        schema=schema,
        lag=CATCH_UP_LAG,
        lock_key=ADVISORY_LOCK_BASE + shard,
        compose_v=_COMPOSE.format(v="v", shard=shard),
        next_id_clock=next_id(
            _NOW_UNITS,
            f"date_part('epoch', clock_timestamp()) * {1000 << SEQUENCE_BITS} - {offset}",
        ),
        next_id_injected=next_id(
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
    _search_paths.pop(alias, None)
    with connection.cursor() as cursor:
        cursor.execute(f"SET search_path TO {schema}")
    try:
        with migrating_shard_schemas():
            executor = MigrationExecutor(connection)
            leaves = [
                node
                for node in executor.loader.graph.leaf_nodes()
                if node[0] in sharded_app_labels()
            ]
            plan = executor.migration_plan(leaves)
            executor.migrate(leaves, plan=plan)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET search_path")
    return SchemaResult(
        shard=shard,
        alias=alias,
        applied=tuple(f"{m.app_label}.{m.name}" for m, _backwards in plan),
    )


def migrate_all(
    topology: Topology, *, report: Callable[[int, int, SchemaResult], None] | None = None
) -> list[SchemaResult]:
    """Create or upgrade every schema on every server, in shard order; stop at the first error."""
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
