"""Every network client gives up within seconds on a peer that accepts and never answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest
from django.conf import settings
from django.db import connections
from storages.backends.s3 import S3Storage


@contextmanager
def _silent_server() -> Iterator[int]:
    """Listen on loopback, accept connections, and never send a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.django_db(databases=["default", "shards_0", "shards_1"])
@pytest.mark.parametrize("alias", ["default", "shards_0", "shards_1"])
def test_every_database_has_a_statement_timeout(alias: str) -> None:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
        assert cursor.fetchone() == (str(settings.DB_STATEMENT_TIMEOUT_MS),)


def test_postgres_connect_gives_up_on_a_silent_server() -> None:
    options = settings.DATABASES["default"]["OPTIONS"]
    with _silent_server() as port:
        started = time.monotonic()
        with pytest.raises(psycopg2.OperationalError, match="timeout expired"):
            psycopg2.connect(host="127.0.0.1", port=port, dbname="x", user="x", **options)
        elapsed = time.monotonic() - started
    assert elapsed < settings.DB_CONNECT_TIMEOUT + 2


def test_s3_gives_up_on_a_silent_server() -> None:
    options = dict(settings.STORAGES["default"]["OPTIONS"])
    with _silent_server() as port:
        storage = S3Storage(**{**options, "endpoint_url": f"http://127.0.0.1:{port}"})
        started = time.monotonic()
        with pytest.raises(Exception, match="Read timeout"):
            storage.exists("some/key.jpg")
        elapsed = time.monotonic() - started
    # Two attempts, each bounded by the read timeout.
    assert elapsed < 2 * settings.S3_READ_TIMEOUT + 2
