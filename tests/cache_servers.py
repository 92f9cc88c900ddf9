"""The test stack's Memcached servers seen directly, beside the app's hashing client."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from pymemcache.client.base import Client as MemcacheClient


def raw_client(server: str) -> MemcacheClient:
    """Return a plain client of one server (``host:port``); close it after use."""
    host, _, port = server.rpartition(":")
    return MemcacheClient((host, int(port)), connect_timeout=1, timeout=1)


def store_on_both_servers(values: dict[str, Any]) -> None:
    """Store ``values`` through the cache so that every server holds some of them, and the
    cache reads them all back.

    A server frozen by an earlier test stays out of the client's rotation for up to twice its
    dead_timeout (pymemcache looks for servers to bring back once per dead_timeout), and
    meanwhile every key goes to the other one; so check on the servers themselves, and store
    again until all are back.
    """
    stored = [cache.make_key(key) for key in values]
    dead_timeout = settings.CACHES["default"]["OPTIONS"]["dead_timeout"]
    deadline = time.monotonic() + 2 * dead_timeout + 5
    while True:
        for server in settings.MEMCACHED_SERVERS:
            client = raw_client(server)
            try:
                client.delete_many(stored)
            finally:
                client.close()
        cache.set_many(values)
        held = []
        for server in settings.MEMCACHED_SERVERS:
            client = raw_client(server)
            try:
                held.append(len(client.get_many(stored)))
            finally:
                client.close()
        # Right after a server is back the client may still miss its keys for a moment.
        if all(held) and cache.get_many(list(values)) == values:
            return
        assert time.monotonic() < deadline, f"keys per server stayed {held}"
        time.sleep(0.5)
