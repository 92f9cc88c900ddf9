"""The schema command: creates every shard, is idempotent, resumes after a failure."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from instaclone.sharding.connections import use_shard
from instaclone.sharding.schemas import id_functions_sql
from photos.models import Photo


def _sharded_history() -> str:
    """Return every migration of the sharded apps, in the order a new schema applies them."""
    from django.db.migrations.loader import MigrationLoader

    from instaclone.sharding.schemas import sharded_app_labels

    labels = sharded_app_labels()
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    leaves = [node for node in graph.leaf_nodes() if node[0] in labels]
    plan = [node for leaf in leaves for node in graph.forwards_plan(leaf)]
    return ", ".join(f"{a}.{n}" for a, n in dict.fromkeys(plan) if a in labels)


FULL_HISTORY = _sharded_history()


def _run(sql: str, alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)


def _progress(output: str) -> dict[str, str]:
    """Map each schema to what the command reported for it."""
    return dict(re.findall(r"\] (shard_\d{4}) on shards_\d: (.+)", output))


def test_schema_command_is_idempotent_and_resumes_after_a_failure(django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        # Shard 5 lost entirely; shard 40 holds a table in the way of its first migration.
        _run("DROP SCHEMA shard_0005 CASCADE", "shards_0")
        _run(
            "DROP SCHEMA shard_0040 CASCADE; CREATE SCHEMA shard_0040; "
            "CREATE TABLE shard_0040.photos_photo (unrelated int)",
            "shards_1",
        )
        out = StringIO()
        with pytest.raises(CommandError) as excinfo:
            call_command("shards", "migrate", stdout=out)
        assert str(excinfo.value).startswith("shard_0040 on shards_1 (")
        assert 'relation "photos_photo" already exists' in str(excinfo.value)
        assert str(excinfo.value).endswith(
            "The 40 schema(s) before it are done; fix the cause and rerun."
        )
        first = _progress(out.getvalue())
        assert len(first) == 40
        assert first["shard_0005"] == FULL_HISTORY
        assert {v for k, v in first.items() if k != "shard_0005"} == {"up to date"}

        _run("DROP TABLE shard_0040.photos_photo", "shards_1")
        out = StringIO()
        call_command("shards", "migrate", stdout=out)
        second = _progress(out.getvalue())
        assert len(second) == 64
        # The accounts migrations went in before photos failed; only the rest is left.
        photos_history = [m for m in FULL_HISTORY.split(", ") if m.startswith("photos.")]
        assert second["shard_0040"] == ", ".join(photos_history)
        assert {v for k, v in second.items() if k != "shard_0040"} == {"up to date"}
        assert "All 64 shards ready." in out.getvalue()

        out = StringIO()
        call_command("shards", "migrate", stdout=out)
        assert set(_progress(out.getvalue()).values()) == {"up to date"}

        with use_shard(5):
            photo = Photo.objects.create(user_id=5)
            new_id = photo.id
            photo.delete()
        assert (new_id >> 10) & 8191 == 5


def test_id_functions_are_bound_to_their_shard() -> None:
    sql = id_functions_sql(4097)
    assert "CREATE SCHEMA IF NOT EXISTS shard_4097;" in sql
    assert "(4097 << 10)" in sql
    assert "shard_4096" not in sql


def test_check_and_status_report_the_topology(django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("shards", "check", stdout=out)
        assert out.getvalue().strip() == "64 logical shards on 2 servers: ok"
        out = StringIO()
        call_command("shards", "status", stdout=out)
        lines = out.getvalue().strip().splitlines()
        assert lines[0].startswith("shards_0 (127.0.0.1:")
        assert lines[0].endswith(": 32 shards (0-31), 0 schema(s) missing")
        assert lines[1].endswith(": 32 shards (32-63), 0 schema(s) missing")


def test_servers_admitting_too_many_sessions_are_refused(monkeypatch, django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    from instaclone.sharding import schemas

    with django_db_blocker.unblock():
        schemas.check_session_limit("shards_0")  # the stack's 200 fit under 256
        monkeypatch.setattr(schemas, "CATCH_UP_MARGIN", 256)
        with pytest.raises(
            schemas.SchemaMigrationError,
            match=r"has max_connections=200; "
            r"next_id\(\) is safe with at most 128 sessions per server",
        ):
            schemas.check_session_limit("shards_0")
