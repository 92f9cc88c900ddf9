"""Topology: placement checks, and clear errors at startup for a bad one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from instaclone.sharding.topology import (
    Topology,
    TopologyError,
    even_placement,
    parse_placement,
    topology_from_rows,
    verify_topology,
)

ROOT = Path(__file__).resolve().parents[2]
SERVERS = ("shards_0", "shards_1")


def test_even_placement_spreads_contiguous_ranges() -> None:
    assert even_placement(8, ["a", "b"]) == ("a",) * 4 + ("b",) * 4
    assert even_placement(5, ["a", "b", "c"]) == ("a", "a", "b", "b", "c")


def test_placement_spec_reads_ranges() -> None:
    topology = parse_placement("shards_0:0-1;shards_1:2-3", logical_shards=4, servers=SERVERS)
    assert topology.placement == ("shards_0", "shards_0", "shards_1", "shards_1")


def test_shard_placed_twice_is_refused() -> None:
    with pytest.raises(
        TopologyError, match="logical shard 31 is placed twice: on shards_0 and on shards_1"
    ):
        parse_placement("shards_0:0-31;shards_1:31-63", logical_shards=64, servers=SERVERS)


def test_unplaced_shard_is_refused() -> None:
    with pytest.raises(
        TopologyError, match=r"logical shard 32 is not placed on any server \(32 unplaced"
    ):
        parse_placement("shards_0:0-31", logical_shards=64, servers=SERVERS)


def test_unknown_server_is_refused() -> None:
    with pytest.raises(
        TopologyError, match="logical shard 2 is placed on unknown server 'shards_9'"
    ):
        parse_placement("shards_0:0-1;shards_9:2-3", logical_shards=4, servers=SERVERS)


def test_persisted_map_that_disagrees_with_settings_is_refused() -> None:
    rows = [(shard, "shards_0") for shard in range(63)]
    with pytest.raises(TopologyError, match="LOGICAL_SHARDS=64: logical shard 63 is not placed"):
        topology_from_rows(rows, servers=SERVERS)
    with pytest.raises(TopologyError, match="logical shard 3 is placed twice"):
        topology_from_rows([*rows, (3, "shards_1")], servers=SERVERS)


@pytest.mark.django_db(databases=["default", "shards_0", "shards_1"])
def test_missing_schema_names_the_shard_and_the_server() -> None:
    # Shard 3 lives on shards_0; claim it is on shards_1, where its schema does not exist.
    placement = ["shards_0"] * 32 + ["shards_1"] * 32
    placement[3] = "shards_1"
    db = settings.DATABASES["shards_1"]
    with pytest.raises(TopologyError) as excinfo:
        verify_topology(Topology(placement=tuple(placement), servers=SERVERS))
    assert str(excinfo.value) == (
        f"logical shard 3 (schema shard_0003) is missing on server shards_1 "
        f"({db['HOST']}:{db['PORT']}/{db['NAME']}); 1 schema(s) missing there. "
        "Run: manage.py shards migrate"
    )


@pytest.fixture
def unreachable_server():  # type: ignore[no-untyped-def]
    """Add a shard server alias that points at a closed port."""
    alias = "shards_2"
    # connections.settings is settings.DATABASES itself, so one entry serves both.
    settings.DATABASES[alias] = {**settings.DATABASES["shards_1"], "PORT": "9"}
    assert connections.settings is settings.DATABASES
    yield alias
    connections[alias].close()
    del settings.DATABASES[alias]


def test_unreachable_server_is_named(unreachable_server: str, django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    placement = ("shards_0",) * 32 + ("shards_1",) * 16 + (unreachable_server,) * 16
    topology = Topology(placement=placement, servers=(*SERVERS, unreachable_server))
    with django_db_blocker.unblock(), pytest.raises(TopologyError) as excinfo:
        verify_topology(topology)
    assert str(excinfo.value).startswith(
        "shard server shards_2 (127.0.0.1:9/instaclone_shards) is unreachable: "
    )


def _boot(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the WSGI application in a fresh process, as Gunicorn's worker does."""
    return subprocess.run(
        [sys.executable, "-c", "import instaclone.wsgi"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "instaclone.settings.test", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_app_boots_on_a_good_topology() -> None:
    result = _boot()
    assert result.returncode == 0, result.stderr


def test_app_refuses_to_boot_when_the_map_disagrees_with_settings() -> None:
    result = _boot(LOGICAL_SHARDS="128")
    assert result.returncode != 0
    assert "the shard map in the users database disagrees with LOGICAL_SHARDS=128" in result.stderr


def test_app_refuses_to_boot_with_a_shard_server_down() -> None:
    urls = settings.SHARD_DATABASE_URLS[0] + ",postgres://instaclone@127.0.0.1:9/instaclone_shards"
    result = _boot(SHARD_DATABASE_URLS=urls)
    assert result.returncode != 0
    assert "shard server shards_1 (127.0.0.1:9/instaclone_shards) is unreachable" in result.stderr
