"""The Memcached backend: CRC-32 rendezvous hashing, connections kept across requests."""

from __future__ import annotations

from collections import Counter

from django.core.cache import cache
from django.test import Client

from instaclone.memcached import Crc32RendezvousHash
from tests.cache_servers import store_on_both_servers


def test_keys_spread_over_the_servers_and_stay_put() -> None:
    nodes = ["127.0.0.1:16211", "127.0.0.1:16212"]
    hasher = Crc32RendezvousHash(nodes)
    placed = {f"ph:{i}": hasher.get_node(f"ph:{i}") for i in range(10_000)}
    share = Counter(placed.values())
    assert set(share) == set(nodes)
    assert all(4_500 < count < 5_500 for count in share.values()), share
    again = Crc32RendezvousHash(list(reversed(nodes)))
    assert all(again.get_node(key) == node for key, node in placed.items())


def test_a_removed_server_moves_only_its_own_keys() -> None:
    hasher = Crc32RendezvousHash(["a:1", "b:2", "c:3"])
    before = {f"k{i}": hasher.get_node(f"k{i}") for i in range(3_000)}
    hasher.remove_node("b:2")
    after = {key: hasher.get_node(key) for key in before}
    assert all(after[key] == node for key, node in before.items() if node != "b:2")
    assert "b:2" not in after.values()
    hasher.remove_node("a:1")
    hasher.remove_node("c:3")
    assert hasher.get_node("k1") is None


def test_connections_outlive_a_request(live_db) -> None:  # type: ignore[no-untyped-def]
    store_on_both_servers({f"probe:{i}": i for i in range(20)})  # both servers connected
    clients = cache._cache.clients.values()
    before = [client.sock for client in clients]
    assert all(sock is not None for sock in before)
    for _ in range(3):
        assert Client().get("/v1/ping").status_code == 400  # no token: still a whole request
    assert cache.get_many([f"probe:{i}" for i in range(20)]) == {f"probe:{i}": i for i in range(20)}
    assert [client.sock for client in cache._cache.clients.values()] == before
