"""Support for the map benchmark: realistic photo IDs, a throwaway Redis, loaders and probes."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import redis

from instaclone.sharding.ids import EPOCH_MS, SEQUENCE_MASK, compose_id

UPLOADS_PER_SECOND = 60  # Instagram's 2012 pace, about 5M photos a day
USERS = 1_000_000
CHUNK = 10_000
START = datetime(2012, 4, 1, tzinfo=UTC)  # an arbitrary moment of that era


def realistic_owners(count: int, shards: int, seed: int = 2012) -> dict[int, int]:
    """Return ``count`` photo ID -> user ID pairs, uploaded in time order at UPLOADS_PER_SECOND.

    The sequence is a per-shard counter of IDs already issued in the same millisecond, as
    next_id() makes them (an idle shard catches up to the clock with sequence 0).
    """
    rng = random.Random(seed)
    millis = float(int(START.timestamp() * 1000) - EPOCH_MS)
    gap_ms = 1000 / UPLOADS_PER_SECOND
    last: list[tuple[int, int]] = [(-1, 0)] * shards  # per shard: (millisecond, next sequence)
    owners: dict[int, int] = {}
    while len(owners) < count:
        millis += rng.expovariate(1 / gap_ms)  # Poisson arrivals
        user_id = rng.randint(1, USERS)
        shard = user_id % shards
        now = int(millis)
        sequence = last[shard][1] if last[shard][0] == now else 0
        last[shard] = (now, (sequence + 1) & SEQUENCE_MASK)
        owners[compose_id(millis=now, shard=shard, sequence=sequence)] = user_id
    return owners


def chunks(owners: dict[int, int], size: int = CHUNK) -> Iterator[dict[int, int]]:
    """Yield ``owners`` in dicts of ``size`` entries."""
    items = iter(owners.items())
    while batch := dict(islice(items, size)):
        yield batch


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class ThrowawayRedis:
    """A private redis-server for clean memory numbers."""

    url: str
    client: redis.Redis
    version: str
    listpack_entries: int


@contextmanager
def throwaway_redis(listpack_entries: int = 512) -> Iterator[ThrowawayRedis]:
    """Start a redis-server on a free port in a temp dir; stop it and remove the dir after."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not on PATH")
    workdir = Path(tempfile.mkdtemp(prefix="instaclone-bench-redis-"))
    port = _free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
    args += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
    args += ["--hash-max-listpack-entries", str(listpack_entries)]
    args += ["--logfile", str(workdir / "redis.log")]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    logfile = workdir / "redis.log"
                    log = logfile.read_text(errors="replace")[-2000:] if logfile.exists() else ""
                    raise RuntimeError(f"redis-server did not start:\n{log}") from None
                time.sleep(0.05)
        yield ThrowawayRedis(
            url=f"redis://127.0.0.1:{port}/0",
            client=client,
            version=str(client.info("server")["redis_version"]),
            listpack_entries=int(
                str(client.config_get("hash-max-listpack-entries")["hash-max-listpack-entries"])
            ),
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def used_memory(client: redis.Redis) -> int:
    """Return ``INFO memory`` used_memory in bytes."""
    return int(client.info("memory")["used_memory"])


def _resp(*parts: bytes) -> bytes:
    """Encode one command in the Redis protocol."""
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def load_naive(url: str, owners: dict[int, int]) -> None:
    """Write ``SET photo:<id> <user_id>`` for every mapping over a raw pipelined socket.

    The stored keys are what any client would store; the raw socket only makes loading fast
    (like ``redis-cli --pipe``). The connection is closed when done.
    """
    kwargs = redis.Redis.from_url(url).connection_pool.connection_kwargs
    host, port = str(kwargs["host"]), int(kwargs["port"])
    with socket.create_connection((host, port)) as sock:
        for batch in chunks(owners):
            payload = b"".join(
                _resp(b"SET", b"photo:%d" % photo_id, b"%d" % user_id)
                for photo_id, user_id in batch.items()
            )
            sock.sendall(payload)
            expected = b"+OK\r\n" * len(batch)
            received = bytearray()
            while len(received) < len(expected):
                data = sock.recv(1 << 16)
                if not data:
                    raise RuntimeError("redis closed the connection during the naive load")
                received += data
            if bytes(received) != expected:
                raise RuntimeError(f"unexpected reply to SET: {bytes(received[:200])!r}")


def load_subject(owners: dict[int, int]) -> None:
    """Write every mapping through ``idmap.cache_owners`` in chunks."""
    from instaclone.sharding.idmap import cache_owners

    for batch in chunks(owners):
        cache_owners(batch)


def bucket_stats(client: redis.Redis, pattern: str) -> dict[str, Any]:
    """SCAN every bucket key; return the count, encodings and entries per bucket."""
    encodings: dict[str, int] = {}
    sizes: list[int] = []
    keys = list(client.scan_iter(match=pattern, count=5_000))
    for start in range(0, len(keys), 5_000):
        part = keys[start : start + 5_000]
        pipe = client.pipeline(transaction=False)
        for key in part:
            pipe.object("encoding", key)
            pipe.hlen(key)
        replies = pipe.execute()
        for encoding, size in zip(replies[0::2], replies[1::2], strict=True):
            name = encoding.decode() if isinstance(encoding, bytes) else str(encoding)
            encodings[name] = encodings.get(name, 0) + 1
            sizes.append(int(size))
    sizes.sort()
    return {
        "buckets": len(keys),
        "encodings": encodings,
        "all_listpack": bool(keys) and set(encodings) == {"listpack"},
        "max_entries": sizes[-1] if sizes else 0,
        "median_entries": sizes[len(sizes) // 2] if sizes else 0,
        "entries": sum(sizes),
    }


def _alone(client: redis.Redis) -> None:
    """Wait until ``client`` is the server's only connection (so no client buffers count)."""
    deadline = time.monotonic() + 5
    while int(client.info("clients")["connected_clients"]) > 1 and time.monotonic() < deadline:
        time.sleep(0.02)


def measure(client: redis.Redis, load: Callable[[], None]) -> int:
    """FLUSHALL, run ``load()`` (which closes its connections); return used_memory growth."""
    client.flushall()
    _alone(client)
    before = used_memory(client)
    load()
    _alone(client)
    return used_memory(client) - before
