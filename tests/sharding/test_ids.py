"""IDs: layout, decoding, and next_id() making no duplicates under load or a bad clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg2
import pytest
from django.conf import settings

from instaclone.sharding.ids import (
    EPOCH_MS,
    MAX_LOGICAL_SHARDS,
    compose_id,
    decode_id,
    first_id_at,
    has_shard_bits,
    shard_of_id,
)
from instaclone.sharding.schemas import CATCH_UP_LAG, id_functions_sql
from instaclone.sharding.topology import current_topology, schema_name

# The clock tests inject times minutes ahead. On a placed shard that would leave the sequence
# ahead of the clock on the kept test stack, and every later row there would carry a future ID;
# so they run on a spare logical shard number the topology never places (it has at most a few
# hundred locally), whose schema is made from the same DDL on the first server and dropped after.
SPARE_SHARD = 8100
SPARE_SERVER = "shards_0"
# The placed shards these tests drove before they moved to the spare one.
WATCHED_SHARDS = (17, 20, 22, 25, 29)
# How far a placed shard's next ID may run ahead of the clock in a normal run: only a shard that
# hands out over 1024 IDs in a millisecond borrows the next milliseconds.
SLACK_MS = 1000


def _raw_connection(shard: int):  # type: ignore[no-untyped-def]
    topology = current_topology()
    placed = shard < topology.logical_shards
    db = settings.DATABASES[topology.server_for_shard(shard) if placed else SPARE_SERVER]
    conn = psycopg2.connect(
        host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=db["USER"], connect_timeout=5
    )
    conn.autocommit = True
    return conn


def _ids(shard: int, sql: str, params: tuple[object, ...] = ()) -> list[int]:
    conn = _raw_connection(shard)
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.format(schema=schema_name(shard)), params)
            return [row[0] for row in cursor.fetchall()]
    finally:
        conn.close()


def _now_ms() -> int:
    return int(time.time() * 1000)


def _lead_ms(shard: int) -> int:
    """Return how far ahead of the clock the shard's next ID is, in milliseconds."""
    (object_id,) = _ids(shard, "SELECT {schema}.next_id()")
    return decode_id(object_id).millis + EPOCH_MS - _now_ms()


@pytest.fixture
def spare_shard() -> Iterator[int]:
    """Return a spare shard with fresh ID functions; afterwards drop it, and check that no
    placed shard the clock tests used to drive is left ahead of the clock."""
    assert SPARE_SHARD >= current_topology().logical_shards
    conn = _raw_connection(SPARE_SHARD)
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {schema_name(SPARE_SHARD)} CASCADE")
            cursor.execute(id_functions_sql(SPARE_SHARD))
        yield SPARE_SHARD
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {schema_name(SPARE_SHARD)} CASCADE")
        conn.close()
    leads = {shard: _lead_ms(shard) for shard in WATCHED_SHARDS}
    assert {shard: lead for shard, lead in leads.items() if lead > SLACK_MS} == {}


def test_decode_round_trip_for_every_shard_number() -> None:
    millis = _now_ms() - EPOCH_MS
    for shard in range(MAX_LOGICAL_SHARDS):
        for sequence in (0, 1, 511, 1023):
            object_id = compose_id(millis=millis, shard=shard, sequence=sequence)
            decoded = decode_id(object_id)
            assert (decoded.millis, decoded.shard, decoded.sequence) == (millis, shard, sequence)
            assert shard_of_id(object_id) == shard
            assert has_shard_bits(object_id)


def test_compose_refuses_out_of_range_fields() -> None:
    with pytest.raises(ValueError, match="shard 8192 outside 0..8191"):
        compose_id(millis=1, shard=8192, sequence=0)
    with pytest.raises(ValueError, match="sequence 1024 outside 0..1023"):
        compose_id(millis=1, shard=0, sequence=1024)
    with pytest.raises(ValueError, match="is not a positive 64-bit ID"):
        decode_id(-1)


def test_ids_sort_by_time_before_shard() -> None:
    earlier = compose_id(millis=1000, shard=8191, sequence=1023)
    later = compose_id(millis=1001, shard=0, sequence=0)
    assert earlier < later
    assert first_id_at(datetime.fromtimestamp((EPOCH_MS + 1001) / 1000, tz=UTC)) == later


def test_next_id_carries_shard_and_current_time() -> None:
    before = _now_ms()
    ids = _ids(13, "SELECT {schema}.next_id() FROM generate_series(1, 50)")
    after = _now_ms()
    assert len(set(ids)) == 50
    for object_id in ids:
        decoded = decode_id(object_id)
        assert decoded.shard == 13
        # The sequence may run ahead of the clock by the IDs other tests borrowed, never behind
        # by more than the catch-up lag (16 ms).
        assert before - EPOCH_MS - 20 <= decoded.millis <= after - EPOCH_MS + 2000


def test_million_ids_from_four_sessions_have_no_duplicates() -> None:
    shard = 7
    results: list[list[int]] = [[] for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker(index: int) -> None:
        try:
            conn = _raw_connection(shard)
            try:
                barrier.wait()
                with conn.cursor() as cursor:
                    cursor.execute(
                        f"SELECT {schema_name(shard)}.next_id() FROM generate_series(1, 250000)"
                    )
                    results[index] = [row[0] for row in cursor.fetchall()]
            finally:
                conn.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    all_ids = [object_id for session in results for object_id in session]
    assert len(all_ids) == 1_000_000
    assert len(set(all_ids)) == 1_000_000
    for session in results:
        assert all(a < b for a, b in zip(session, session[1:], strict=False))
    assert {shard_of_id(object_id) for object_id in all_ids} == {shard}


def test_frozen_clock_for_5000_calls_makes_no_duplicates(spare_shard: int) -> None:
    frozen = _now_ms() + 60_000  # ahead of anything the sequence has issued
    sql = "SELECT {schema}.next_id_at(%s) FROM generate_series(1, 5000)"
    ids = _ids(spare_shard, sql, (frozen,))
    assert len(set(ids)) == 5000
    assert all(a < b for a, b in zip(ids, ids[1:], strict=False))
    # 5000 IDs in one frozen millisecond borrow the next four milliseconds.
    assert decode_id(ids[0]).millis == frozen - EPOCH_MS
    assert decode_id(ids[-1]).millis == frozen - EPOCH_MS + 4


@pytest.mark.parametrize("step_back_ms", [1, 10, 1000])
def test_clock_stepped_back_makes_no_duplicates_and_never_decreases(
    step_back_ms: int, spare_shard: int
) -> None:
    shard = spare_shard
    start = _now_ms() + 120_000 + step_back_ms * 10
    times = [start + i for i in range(200)]  # a steady clock, one call a millisecond
    times += [start + 199 - step_back_ms + i for i in range(step_back_ms + 100)]  # back, then on
    conn = _raw_connection(shard)
    try:
        with conn.cursor() as cursor:
            ids = []
            for moment in times:
                cursor.execute(f"SELECT {schema_name(shard)}.next_id_at(%s)", (moment,))
                ids.append(cursor.fetchone()[0])
    finally:
        conn.close()
    assert len(set(ids)) == len(ids)
    assert all(a < b for a, b in zip(ids, ids[1:], strict=False))
    # Before the step the IDs carry the injected time, late by at most the catch-up lag.
    lag_ms = CATCH_UP_LAG >> 10
    for object_id, moment in zip(ids[:200], times[:200], strict=True):
        assert 0 <= moment - EPOCH_MS - decode_id(object_id).millis <= lag_ms
    # Once the clock passes where it was, the IDs follow it again.
    assert 0 <= times[-1] - EPOCH_MS - decode_id(ids[-1]).millis <= lag_ms


def test_concurrent_catch_ups_make_no_duplicates(spare_shard: int) -> None:
    """Four sessions on a clock running 50 times too fast keep moving the sequence up at once."""
    shard = spare_shard
    base = _now_ms() + 300_000
    results: list[list[int]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)
    started = time.time() * 1000

    def worker(index: int) -> None:
        conn = _raw_connection(shard)
        try:
            barrier.wait()
            with conn.cursor() as cursor:
                # One shared, monotone clock, like the server's, but fast enough that the
                # sequence lags it after every few calls and the catch-up path runs constantly.
                cursor.execute(
                    f"SELECT {schema_name(shard)}.next_id_at(("
                    "%s + (date_part('epoch', clock_timestamp()) * 1000 - %s) * 50)::bigint) "
                    "FROM generate_series(1, 20000)",
                    (base, started),
                )
                results[index] = [row[0] for row in cursor.fetchall()]
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_ids = [object_id for session in results for object_id in session]
    assert len(all_ids) == 80_000
    assert len(set(all_ids)) == 80_000
    for session in results:
        assert all(a < b for a, b in zip(session, session[1:], strict=False))
    # The catch-up kept the IDs on the fast clock: the last ones carry its time, give or take.
    last = max(decode_id(object_id).millis for object_id in all_ids) + EPOCH_MS
    assert last > base + 1000
