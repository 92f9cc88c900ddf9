"""Popular now: recent public photos ranked by likes with time decay, ranked by a periodic job.

score = likes / (age in hours + 2) ** GRAVITY, as link aggregators rank: a photo must keep
gathering likes to stay. The ranking is stored in Redis as one value of packed entries and
read with one GET; when it is missing (first start, Redis flushed) the first reader ranks.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.conf import settings

from accounts.models import User
from feeds.store import pack, unpack
from instaclone.sharding.connections import query_shards
from instaclone.sharding.ids import decode_id, first_id_at
from instaclone.sharding.redis_client import REDIS_ERRORS, redis_client
from instaclone.sharding.topology import current_topology

GRAVITY = 1.5
KEY = "popular"
# Each shard offers this many times the page's size, most liked first, for the decay to sort.
CANDIDATES_PER_SHARD = 3

Entry = tuple[int, int]


def popular_score(*, likes: int, photo_id: int, now: float) -> float:
    """Return a photo's rank score at ``now`` (Unix seconds)."""
    age_hours = max(0.0, now - decode_id(photo_id).created_at.timestamp()) / 3600
    return likes / (age_hours + 2) ** GRAVITY


def popular_compute(*, now: float | None = None) -> list[Entry]:
    """Rank the recent photos of public, active accounts: one query per physical server."""
    now = time.time() if now is None else now
    since = datetime.fromtimestamp(now, UTC) - timedelta(hours=settings.POPULAR_WINDOW_HOURS)
    size = settings.POPULAR_SIZE
    rows = query_shards(
        "SELECT id, user_id, like_count FROM {schema}.photos_photo "
        "WHERE id >= %s AND like_count > 0 ORDER BY like_count DESC, id DESC LIMIT %s",
        {
            shard: [first_id_at(since), size * CANDIDATES_PER_SHARD]
            for shard in range(current_topology().logical_shards)
        },
    )
    public = set(
        User.objects.filter(
            id__in={row[1] for row in rows}, is_active=True, is_private=False
        ).values_list("id", flat=True)
    )
    ranked = sorted(
        (row for row in rows if row[1] in public),
        key=lambda row: (popular_score(likes=row[2], photo_id=row[0], now=now), row[0]),
        reverse=True,
    )
    return [(row[0], row[1]) for row in ranked[:size]]


def popular_rank() -> list[Entry]:
    """Rank now and store the ranking for readers."""
    entries = popular_compute()
    seconds = max(60, 3 * settings.POPULAR_EVERY_SECONDS)
    redis_client().set(KEY, b"".join(pack(*entry) for entry in entries), ex=seconds)
    return entries


def popular_entries() -> list[Entry]:
    """Return the stored ranking; rank it when missing, from Postgres when Redis is down."""
    try:
        raw = redis_client().get(KEY)
    except REDIS_ERRORS:
        return popular_compute()
    if raw is None:
        try:
            return popular_rank()
        except REDIS_ERRORS:
            return popular_compute()
    return [unpack(raw[i : i + 16]) for i in range(0, len(raw), 16)]
