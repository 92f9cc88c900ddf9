"""Lists of integers go to Postgres as one bigint[] literal; other lists as psycopg2 sends them."""

from __future__ import annotations

import pytest
from django.db import connections

from instaclone.sharding.topology import current_topology

BIG = 2**63 - 1


def _mogrify(sql: str, params: list[object]) -> bytes:
    connection = connections["default"]
    connection.ensure_connection()
    return connection.connection.cursor().mogrify(sql, params)


@pytest.mark.django_db
def test_int_lists_are_one_literal_and_other_lists_are_left_to_psycopg2() -> None:
    assert _mogrify("%s", [[1, 22, -3]]) == b"'{1,22,-3}'::bigint[]"
    assert _mogrify("%s", [["a", "b'c"]]) == b"ARRAY['a','b''c']"
    assert _mogrify("%s", [[]]) == b"'{}'"
    assert _mogrify("%s", [[True, 2]]) == b"ARRAY[true,2]"
    assert _mogrify("%s", [[1, None]]) == b"ARRAY[1,NULL]"
    assert _mogrify("%s", [[1.5, 2]]) == b"ARRAY[1.5,2]"


@pytest.mark.django_db(databases=["default", "shards_0", "shards_1"])
def test_int_lists_mean_the_same_to_postgres() -> None:
    alias = current_topology().servers[0]
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT %s = ARRAY[1, 2, %s]::bigint[], 5 = ANY(%s)", [[1, 2, BIG], BIG, [4, 5]]
        )
        assert cursor.fetchone() == (True, True)
        cursor.execute(
            "SELECT a, b FROM unnest(%s::bigint[], %s::bigint[]) AS t(a, b)", [[1, BIG], [3, 4]]
        )
        assert cursor.fetchall() == [(1, 3), (BIG, 4)]
        cursor.execute("SELECT cardinality(%s::bigint[]), %s::text[]", [[], ["x", "y"]])
        assert cursor.fetchone() == (0, ["x", "y"])
