"""Where each logical shard lives: the one structure that maps shards to physical servers.

Settings give the number of logical shards and the physical servers (database aliases
``shards_0`` ...). The placement is persisted in the users database (``ShardPlacement``) so a
logical shard can later be moved to another server by changing one row; until it is written,
it comes from ``SHARD_PLACEMENT`` or, when that is empty, contiguous equal ranges.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connections

from instaclone.sharding.ids import MAX_LOGICAL_SHARDS

SCHEMA_PREFIX = "shard_"
USERS_ALIAS = "default"


class TopologyError(ImproperlyConfigured):
    """The shard topology is inconsistent or does not match the servers."""


def schema_name(shard: int) -> str:
    """Return the Postgres schema that holds a logical shard."""
    if not 0 <= shard < MAX_LOGICAL_SHARDS:
        raise ValueError(f"logical shard {shard} outside 0..{MAX_LOGICAL_SHARDS - 1}")
    return f"{SCHEMA_PREFIX}{shard:04d}"


def shard_aliases() -> list[str]:
    """Return the database aliases of the physical shard servers, in order."""
    return sorted(
        (alias for alias in settings.DATABASES if alias.startswith("shards_")),
        key=lambda alias: int(alias.removeprefix("shards_")),
    )


def server_label(alias: str) -> str:
    """Return ``alias (host:port/name)`` for error messages."""
    db = settings.DATABASES.get(alias, {})
    return f"{alias} ({db.get('HOST')}:{db.get('PORT')}/{db.get('NAME')})"


@dataclass(frozen=True)
class Topology:
    """N logical shards placed on M physical servers; ``placement[shard]`` is a server alias."""

    placement: tuple[str, ...]
    servers: tuple[str, ...]
    _by_server: dict[str, tuple[int, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= len(self.placement) <= MAX_LOGICAL_SHARDS:
            raise TopologyError(
                f"the number of logical shards must be 1..{MAX_LOGICAL_SHARDS}, "
                f"got {len(self.placement)}"
            )
        unknown = sorted(set(self.placement) - set(self.servers))
        if unknown:
            shard = self.placement.index(unknown[0])
            raise TopologyError(
                f"logical shard {shard} is placed on unknown server {unknown[0]!r}; "
                f"known servers: {', '.join(self.servers)}"
            )
        by_server: dict[str, list[int]] = {alias: [] for alias in self.servers}
        for shard, alias in enumerate(self.placement):
            by_server[alias].append(shard)
        object.__setattr__(self, "_by_server", {a: tuple(s) for a, s in by_server.items()})

    @property
    def logical_shards(self) -> int:
        """Return N, the number of logical shards."""
        return len(self.placement)

    def server_for_shard(self, shard: int) -> str:
        """Return the database alias of the server holding a logical shard."""
        if not 0 <= shard < len(self.placement):
            raise ValueError(f"logical shard {shard} outside 0..{len(self.placement) - 1}")
        return self.placement[shard]

    def shards_on(self, alias: str) -> tuple[int, ...]:
        """Return the logical shards a server holds, ascending."""
        return self._by_server.get(alias, ())

    def group_by_server(self, shards: Iterable[int]) -> dict[str, list[int]]:
        """Group logical shards by the server that holds them, keeping server order."""
        grouped: dict[str, list[int]] = {}
        for shard in sorted(set(shards)):
            grouped.setdefault(self.server_for_shard(shard), []).append(shard)
        return {alias: grouped[alias] for alias in self.servers if alias in grouped}


def even_placement(logical_shards: int, servers: Sequence[str]) -> tuple[str, ...]:
    """Place shards in contiguous, equal ranges over the servers, in order."""
    if not servers:
        raise TopologyError("no shard servers configured: set SHARD_DATABASE_URLS")
    return tuple(servers[shard * len(servers) // logical_shards] for shard in range(logical_shards))


def parse_placement(spec: str, *, logical_shards: int, servers: Sequence[str]) -> Topology:
    """Read ``alias:first-last;alias:first-last`` and check every shard is placed once."""
    placed: dict[int, str] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        alias, _, span = part.partition(":")
        first, _, last = span.partition("-")
        try:
            lo, hi = int(first), int(last or first)
        except ValueError:
            raise TopologyError(f"SHARD_PLACEMENT part {part!r} is not alias:first-last") from None
        for shard in range(lo, hi + 1):
            if not 0 <= shard < logical_shards:
                raise TopologyError(
                    f"logical shard {shard} in SHARD_PLACEMENT is outside 0..{logical_shards - 1}"
                )
            if shard in placed:
                raise TopologyError(
                    f"logical shard {shard} is placed twice: on {placed[shard]} and on {alias}"
                )
            placed[shard] = alias.strip()
    missing = [shard for shard in range(logical_shards) if shard not in placed]
    if missing:
        raise TopologyError(
            f"logical shard {missing[0]} is not placed on any server "
            f"({len(missing)} unplaced in all)"
        )
    return Topology(
        placement=tuple(placed[s] for s in range(logical_shards)), servers=tuple(servers)
    )


def topology_from_settings() -> Topology:
    """Build the topology that settings describe, before anything is persisted."""
    servers = shard_aliases()
    count = settings.LOGICAL_SHARDS
    if settings.SHARD_PLACEMENT:
        return parse_placement(settings.SHARD_PLACEMENT, logical_shards=count, servers=servers)
    return Topology(placement=even_placement(count, servers), servers=tuple(servers))


def topology_from_rows(rows: Iterable[tuple[int, str]], *, servers: Sequence[str]) -> Topology:
    """Build the topology from persisted ``(logical_shard, server)`` rows."""
    placed: dict[int, str] = {}
    for shard, alias in rows:
        if shard in placed:
            raise TopologyError(
                f"logical shard {shard} is placed twice: on {placed[shard]} and on {alias}"
            )
        placed[shard] = alias
    count = settings.LOGICAL_SHARDS
    if len(placed) != count or set(placed) != set(range(count)):
        missing = sorted(set(range(count)) - set(placed))
        extra = sorted(set(placed) - set(range(count)))
        detail = (
            f"logical shard {missing[0]} is not placed"
            if missing
            else (f"logical shard {extra[0]} is placed but LOGICAL_SHARDS={count}")
        )
        raise TopologyError(
            f"the shard map in the users database disagrees with LOGICAL_SHARDS={count}: {detail}"
        )
    return Topology(placement=tuple(placed[s] for s in range(count)), servers=tuple(servers))


_lock = threading.Lock()
_current: Topology | None = None


def load_topology() -> Topology:
    """Read the persisted placement (or the settings' one when none is stored yet)."""
    from instaclone.sharding.models import ShardPlacement

    try:
        rows = list(
            ShardPlacement.objects.using(USERS_ALIAS).values_list("logical_shard", "server")
        )
    except DatabaseError as exc:
        raise TopologyError(
            f"cannot read the shard map from the users database {server_label(USERS_ALIAS)}: "
            f"{exc}".strip()
        ) from exc
    if not rows:
        return topology_from_settings()
    return topology_from_rows(rows, servers=shard_aliases())


def current_topology() -> Topology:
    """Return this process's topology, loading it once."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = load_topology()
    return _current


def set_current_topology(topology: Topology | None) -> None:
    """Replace this process's topology (after a move, or ``None`` to reload on next use)."""
    global _current
    with _lock:
        _current = topology


def missing_schemas(topology: Topology) -> dict[str, list[int]]:
    """Return, per server, the logical shards whose schema is absent; one query per server."""
    missing: dict[str, list[int]] = {}
    for alias in topology.servers:
        wanted = topology.shards_on(alias)
        if not wanted:
            continue
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                    [SCHEMA_PREFIX.replace("_", r"\_") + "%"],
                )
                present = {row[0] for row in cursor.fetchall()}
        except DatabaseError as exc:
            raise TopologyError(
                f"shard server {server_label(alias)} is unreachable: {exc}"
            ) from exc
        absent = [shard for shard in wanted if schema_name(shard) not in present]
        if absent:
            missing[alias] = absent
    return missing


def verify_topology(topology: Topology | None = None) -> Topology:
    """Check every shard is placed once, every server answers, every schema exists.

    Raises ``TopologyError`` naming the first bad shard and its server. On success the
    topology becomes this process's current one.
    """
    topology = topology or load_topology()
    missing = missing_schemas(topology)
    for alias, shards in missing.items():
        raise TopologyError(
            f"logical shard {shards[0]} (schema {schema_name(shards[0])}) is missing on server "
            f"{server_label(alias)}; {len(shards)} schema(s) missing there. "
            "Run: manage.py shards migrate"
        )
    set_current_topology(topology)
    return topology
