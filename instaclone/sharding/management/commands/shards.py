"""``manage.py shards migrate|check|status``: create, verify and show the logical shards."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from instaclone.sharding.schemas import (
    SchemaMigrationError,
    SchemaResult,
    migrate_all,
    persist_placement,
)
from instaclone.sharding.topology import (
    TopologyError,
    load_topology,
    missing_schemas,
    schema_name,
    server_label,
    verify_topology,
)


class Command(BaseCommand):
    help = "Create/upgrade every logical shard schema (migrate), verify them (check), or list them."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("action", choices=["migrate", "check", "status"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            getattr(self, f"_{action}")()
        except (TopologyError, SchemaMigrationError) as exc:
            raise CommandError(str(exc)) from exc

    def _migrate(self) -> None:
        topology = load_topology()
        written = persist_placement(topology)
        if written:
            self.stdout.write(f"Stored the placement of {written} logical shards.")

        def report(done: int, total: int, result: SchemaResult) -> None:
            what = ", ".join(result.applied) if result.applied else "up to date"
            self.stdout.write(
                f"[{done:>{len(str(total))}}/{total}] {schema_name(result.shard)} "
                f"on {result.alias}: {what}"
            )

        migrate_all(topology, report=report)
        verify_topology(topology)
        self.stdout.write(self.style.SUCCESS(f"All {topology.logical_shards} shards ready."))

    def _check(self) -> None:
        topology = verify_topology()
        self.stdout.write(
            self.style.SUCCESS(
                f"{topology.logical_shards} logical shards on {len(topology.servers)} servers: ok"
            )
        )

    def _status(self) -> None:
        topology = load_topology()
        missing = missing_schemas(topology)
        for alias in topology.servers:
            shards = topology.shards_on(alias)
            span = f"{shards[0]}-{shards[-1]}" if shards else "none"
            absent = missing.get(alias, [])
            self.stdout.write(
                f"{server_label(alias)}: {len(shards)} shards ({span}), "
                f"{len(absent)} schema(s) missing"
            )
