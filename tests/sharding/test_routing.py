"""Routing: user and photo IDs to schemas and servers; ORM on one shard; reads over many."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest
from django.core.signals import request_started
from django.db import connections

from instaclone.sharding.connections import (
    ShardContextRequired,
    UnknownPhoto,
    photo_shard,
    query_shards,
    shard_for_photo,
    shard_for_user,
    target_for_shard,
    use_shard,
    user_shard,
)
from instaclone.sharding.ids import compose_id, shard_of_id
from instaclone.sharding.topology import current_topology, schema_name
from photos.models import Photo

ALL = ["default", "shards_0", "shards_1"]

# (user ID, logical shard, schema, server) over the local topology: 64 shards, two servers.
USER_ROUTES = [
    (1, 1, "shard_0001", "shards_0"),
    (31, 31, "shard_0031", "shards_0"),
    (32, 32, "shard_0032", "shards_1"),
    (63, 63, "shard_0063", "shards_1"),
    (64, 0, "shard_0000", "shards_0"),
    (100, 36, "shard_0036", "shards_1"),
    (2**40 + 5, (2**40 + 5) % 64, f"shard_{(2**40 + 5) % 64:04d}", "shards_0"),
]


@pytest.mark.parametrize(("user_id", "shard", "schema", "alias"), USER_ROUTES)
def test_user_routes_to_its_shard(user_id: int, shard: int, schema: str, alias: str) -> None:
    assert shard_for_user(user_id) == shard
    assert target_for_shard(shard_for_user(user_id)) == (shard, schema, alias) or (
        target_for_shard(shard).schema == schema and target_for_shard(shard).alias == alias
    )


def test_every_logical_shard_routes_to_exactly_one_server_in_ranges() -> None:
    topology = current_topology()
    assert topology.logical_shards == 64
    assert [topology.server_for_shard(s) for s in range(64)] == ["shards_0"] * 32 + [
        "shards_1"
    ] * 32
    assert topology.shards_on("shards_0") == tuple(range(32))
    assert topology.shards_on("shards_1") == tuple(range(32, 64))


@pytest.mark.parametrize("shard", [0, 5, 31, 32, 47, 63])
def test_photo_id_routes_by_its_own_bits(shard: int) -> None:
    photo_id = compose_id(millis=123_456_789, shard=shard, sequence=77)
    assert shard_for_photo(photo_id) == shard


def test_user_id_must_be_positive() -> None:
    with pytest.raises(ValueError, match="user ID must be positive, got 0"):
        shard_for_user(0)


@pytest.mark.django_db(databases=ALL)
def test_sharded_model_outside_a_shard_context_raises() -> None:
    with pytest.raises(ShardContextRequired, match="sharded data needs a shard context"):
        list(Photo.objects.all())


@pytest.mark.django_db(databases=ALL)
def test_orm_writes_and_reads_one_logical_shard() -> None:
    owner = 64 * 3 + 37  # shard 37, on the second server
    with user_shard(owner) as target:
        photo = Photo.objects.create(user_id=owner, caption="sunset")
        assert target.alias == "shards_1"
        assert Photo.objects.filter(user_id=owner).count() == 1
    assert shard_of_id(photo.id) == 37
    with connections["shards_1"].cursor() as cursor:
        cursor.execute(
            "SELECT user_id, caption FROM shard_0037.photos_photo WHERE id = %s", [photo.id]
        )
        assert cursor.fetchone() == (owner, "sunset")
        cursor.execute("SELECT count(*) FROM shard_0036.photos_photo WHERE id = %s", [photo.id])
        assert cursor.fetchone() == (0,)
    with photo_shard(photo.id):
        assert Photo.objects.get(id=photo.id).caption == "sunset"
    with use_shard(36):
        assert not Photo.objects.filter(id=photo.id).exists()


@pytest.mark.django_db(databases=ALL)
def test_reads_over_many_shards_make_one_round_trip_per_server(query_counter) -> None:  # type: ignore[no-untyped-def]
    shards = [1, 2, 3, 4, 40, 41, 42, 43]  # four on each server
    created = {}
    for shard in shards:
        with use_shard(shard):
            created[shard] = Photo.objects.create(user_id=shard + 64, caption=f"p{shard}").id
    with query_counter() as counts:
        rows = query_shards(
            "SELECT id, caption FROM {schema}.photos_photo WHERE id = %s",
            {shard: [created[shard]] for shard in shards},
        )
    assert sorted(rows) == sorted((created[s], f"p{s}") for s in shards)
    assert dict(counts) == {"shards_0": 1, "shards_1": 1}


def test_legacy_photo_without_owner_is_unknown(django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    with (
        django_db_blocker.unblock(),
        pytest.raises(UnknownPhoto, match="photo 4242 has no shard bits"),
    ):
        shard_for_photo(4242)


def test_servers_are_asked_at_once_outside_a_transaction(query_counter, django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    shards = [6, 7, 44, 45]
    with django_db_blocker.unblock():
        created = {}
        for shard in shards:
            with use_shard(shard):
                created[shard] = Photo.objects.create(user_id=shard + 128, caption=f"q{shard}").id
        try:
            with query_counter() as counts:
                rows = query_shards(
                    "SELECT id, caption FROM {schema}.photos_photo WHERE id = %s",
                    {shard: [created[shard]] for shard in shards},
                )
            # Server order is kept even though the second server answered from the pool.
            assert rows == [(created[s], f"q{s}") for s in shards]
            assert dict(counts) == {"shards_0": 1, "shards_1": 1}
        finally:
            for shard in shards:
                with use_shard(shard):
                    Photo.objects.filter(id=created[shard]).delete()


@pytest.mark.django_db(databases=ALL)
def test_nested_shard_contexts_on_one_server_restore_the_outer_shard() -> None:
    with use_shard(10):
        outer = Photo.objects.create(user_id=10 + 64, caption="outer")
        with use_shard(11):  # same server, so the same connection
            inner = Photo.objects.create(user_id=11 + 64, caption="inner")
            assert not Photo.objects.filter(id=outer.id).exists()
        assert Photo.objects.get(id=outer.id).caption == "outer"
        assert not Photo.objects.filter(id=inner.id).exists()
    assert shard_of_id(inner.id) == 11


@contextmanager
def _rows_on(counts: dict[int, int]) -> Iterator[int]:
    """Create ``counts[shard]`` photo rows of one new user ID on each shard; yield the ID.

    Each shard holds a different number, so a query that runs on the wrong schema counts wrong.
    """
    user_id = 10**12 + uuid.uuid4().int % 10**9
    made: dict[int, list[int]] = {}
    try:
        for shard, count in counts.items():
            with use_shard(shard):
                made[shard] = [
                    Photo.objects.create(user_id=user_id, caption="routing").id
                    for _ in range(count)
                ]
        yield user_id
    finally:
        for shard, ids in made.items():
            with use_shard(shard):
                Photo.objects.filter(id__in=ids).delete()


def test_each_thread_sets_the_search_path_on_its_own_connection(django_db_blocker) -> None:  # type: ignore[no-untyped-def]
    results: dict[str, int] = {}

    def count_in(name: str, user_id: int) -> None:
        try:
            with use_shard(12):
                results[name] = Photo.objects.filter(user_id=user_id).count()
        finally:
            connections.close_all()

    with django_db_blocker.unblock(), _rows_on({12: 2, 11: 1, 13: 3, 44: 4}) as user_id:
        with use_shard(13):  # leaves this thread's connection to shards_0 on shard 13
            assert Photo.objects.filter(user_id=user_id).count() == 3
        count_in("main", user_id)  # leaves this thread's connection on shard 12
        for name in ("first", "second"):
            thread = threading.Thread(target=count_in, args=(name, user_id))
            thread.start()
            thread.join()
    assert results == {"main": 2, "first": 2, "second": 2}


def test_a_shard_context_after_the_connection_closed_sets_the_path_on_the_new_one(
    django_db_blocker,  # type: ignore[no-untyped-def]
) -> None:
    """CONN_MAX_AGE, a failed health check or the worker's end of a job closes a connection
    between two shard contexts; the next one opens a session whose search_path is the default."""
    alias = target_for_shard(13).alias
    with django_db_blocker.unblock(), _rows_on({13: 1, 12: 2, 14: 3}) as user_id:
        try:
            with use_shard(13):
                assert Photo.objects.filter(user_id=user_id).count() == 1
            connections[alias].close()
            with use_shard(13):
                assert Photo.objects.filter(user_id=user_id).count() == 1
                with connections[alias].cursor() as cursor:
                    cursor.execute("SHOW search_path")
                    assert cursor.fetchone() == (schema_name(13),)
            with use_shard(12):
                assert Photo.objects.filter(user_id=user_id).count() == 2
        finally:
            connections[alias].close()


def test_many_to_many_tables_live_with_their_model() -> None:
    from accounts.models import User
    from instaclone.sharding.placement import placement_of

    assert placement_of(User.groups.through) == "users"
    assert placement_of(User.user_permissions.through) == "users"


def test_a_session_ended_under_a_remembered_path_gets_the_path_again(
    django_db_blocker,  # type: ignore[no-untyped-def]
) -> None:
    """A server restart (or a killed backend) ends the session under a remembered path; the
    next request's first query fails Django's health check and reconnects, and the new
    session must be given the path, not run on the default one."""
    alias = target_for_shard(13).alias
    with django_db_blocker.unblock(), _rows_on({13: 1, 12: 2, 14: 3}) as user_id:
        try:
            with use_shard(13):
                assert Photo.objects.filter(user_id=user_id).count() == 1
            ended = connections[alias].connection.get_backend_pid()
            # A second session on the shard's server ends ours, as a restart would.
            killer = psycopg2.connect(**connections[alias].get_connection_params())
            try:
                with killer.cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [ended])
                    assert cursor.fetchone() == (True,)
            finally:
                killer.close()
            request_started.send(sender=None)  # a new request: health checks are due again

            with use_shard(13):
                assert Photo.objects.filter(user_id=user_id).count() == 1
                assert connections[alias].connection.get_backend_pid() != ended
        finally:
            connections[alias].close()
