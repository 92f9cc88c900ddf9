"""The photo->user map: Postgres holds the authoritative rows, Redis a compact copy.

Redis stores the map as many small hashes so each stays in the compact listpack encoding.
An ID made by ``next_id()`` is bucketed by its logical shard and a window of time; within the
bucket the field is the rest of the ID, and the value is ``user_id // N`` (the owner lives on
the photo's shard, so ``user_id % N`` is the shard and need not be stored). IDs without shard
bits (imported media) are dense, so they bucket by their high bits, Instagram's 2011 layout.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.db import transaction

from instaclone.sharding.ids import decode_id, has_shard_bits
from instaclone.sharding.models import PhotoOwner
from instaclone.sharding.redis_client import REDIS_ERRORS, redis_client
from instaclone.sharding.topology import USERS_ALIAS, current_topology

LEGACY_BUCKET_BITS = 9  # 512 dense legacy IDs per bucket


def _window_bits() -> int:
    return int(settings.IDMAP_WINDOW_BITS)


def _slot(photo_id: int) -> tuple[str, int, int]:
    """Return (bucket key, field, divisor-free shard) for a photo ID."""
    if not has_shard_bits(photo_id):
        mask = (1 << LEGACY_BUCKET_BITS) - 1
        return f"pm:l:{photo_id >> LEGACY_BUCKET_BITS}", photo_id & mask, -1
    decoded = decode_id(photo_id)
    window = _window_bits()
    key = f"pm:{decoded.shard}:{decoded.millis >> window}"
    # The sequence goes above the time: it is almost always 0 (a shard rarely issues two IDs in a
    # millisecond), so the field stays a small integer, which listpack stores in fewer bytes.
    field = (decoded.sequence << window) | (decoded.millis & ((1 << window) - 1))
    return key, field, decoded.shard


def _encode_owner(shard: int, user_id: int) -> int:
    if shard < 0:
        return user_id
    count = current_topology().logical_shards
    if user_id % count != shard:
        raise ValueError(f"user {user_id} does not live on shard {shard} of this photo")
    return user_id // count


def _decode_owner(shard: int, stored: bytes) -> int:
    value = int(stored)
    if shard < 0:
        return value
    return value * current_topology().logical_shards + shard


def cache_owners(owners: Mapping[int, int]) -> None:
    """Write photo->user entries to Redis only (Postgres already has them)."""
    if not owners:
        return
    pipe = redis_client().pipeline(transaction=False)
    for photo_id, user_id in owners.items():
        key, field, shard = _slot(photo_id)
        pipe.hset(key, str(field), _encode_owner(shard, user_id))
    pipe.execute()


def map_photos(owners: Mapping[int, int]) -> None:
    """Record photo owners: Postgres first (authoritative), Redis after the commit."""
    PhotoOwner.objects.using(USERS_ALIAS).bulk_create(
        [PhotoOwner(photo_id=p, user_id=u) for p, u in owners.items()],
        update_conflicts=True,
        unique_fields=["photo_id"],
        update_fields=["user_id"],
    )

    def _to_redis() -> None:
        try:
            cache_owners(owners)
        except REDIS_ERRORS:
            pass  # Postgres has the rows; the next lookup refills Redis.

    transaction.on_commit(_to_redis, using=USERS_ALIAS)


def unmap_photos(photo_ids: Iterable[int]) -> None:
    """Forget photo owners in both stores."""
    ids = list(photo_ids)
    PhotoOwner.objects.using(USERS_ALIAS).filter(photo_id__in=ids).delete()
    try:
        pipe = redis_client().pipeline(transaction=False)
        for photo_id in ids:
            key, field, _ = _slot(photo_id)
            pipe.hdel(key, str(field))
        pipe.execute()
    except REDIS_ERRORS:
        pass  # a stale Redis entry is only a routing hint; Postgres decides.


def photo_owners(photo_ids: Iterable[int]) -> dict[int, int]:
    """Return the owners of many photos: one Redis round trip, Postgres for the rest."""
    ids = list(dict.fromkeys(photo_ids))
    found: dict[int, int] = {}
    redis_answered = True
    try:
        pipe = redis_client().pipeline(transaction=False)
        slots = [_slot(photo_id) for photo_id in ids]
        for key, field, _ in slots:
            pipe.hget(key, str(field))
        for photo_id, (_, _, shard), stored in zip(ids, slots, pipe.execute(), strict=True):
            if stored is not None:
                found[photo_id] = _decode_owner(shard, stored)
    except REDIS_ERRORS:
        redis_answered = False
    missing = [photo_id for photo_id in ids if photo_id not in found]
    if missing:
        rows = dict(
            PhotoOwner.objects.using(USERS_ALIAS)
            .filter(photo_id__in=missing)
            .values_list("photo_id", "user_id")
        )
        found.update(rows)
        if redis_answered:
            # Refill what Redis lost (a flush or a restart); skip it while Redis is failing.
            with contextlib.suppress(*REDIS_ERRORS):
                cache_owners(rows)
    return found


def photo_owner(photo_id: int) -> int | None:
    """Return the owner of one photo, or None when no store knows it."""
    return photo_owners([photo_id]).get(photo_id)


def bucket_keys_pattern() -> str:
    """Return the key pattern of every map bucket (for scans and benchmarks)."""
    return "pm:*"
