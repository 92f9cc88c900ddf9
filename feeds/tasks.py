"""Worker jobs of the feeds app, named so other apps can enqueue them through events.

Jobs take IDs, make the feeds match the databases, and may run twice. Redis or Postgres
hiccups retry with backoff; a worker killed mid-job redelivers it (acks_late).
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError
from redis.exceptions import RedisError

from feeds import popular, services

RETRIES = {
    "acks_late": True,
    "autoretry_for": (RedisError, DatabaseError),
    "retry_backoff": 1,
    "retry_backoff_max": 120,
    "max_retries": 10,
}


@shared_task(name="feeds.photo_posted", **RETRIES)
def photo_posted(photo_id: int, owner_id: int, after: int = 0) -> None:
    """Fan a new photo out to its owner's and followers' feeds, a batch per job."""
    last = services.photo_fanout(photo_id=photo_id, owner_id=owner_id, after=after)
    if last is not None:
        photo_posted.delay(photo_id, owner_id, after=last)


@shared_task(name="feeds.photo_deleted", **RETRIES)
def photo_deleted(photo_id: int, owner_id: int, after: int = 0) -> None:
    """Drop a deleted photo from the feeds it reached, a batch per job."""
    last = services.photo_unfan(photo_id=photo_id, owner_id=owner_id, after=after)
    if last is not None:
        photo_deleted.delay(photo_id, owner_id, after=last)


@shared_task(name="feeds.follow_changed", **RETRIES)
def follow_changed(follower_id: int, target_id: int) -> None:
    """Bring a follower's feed in line with their edge to the target."""
    services.follow_sync(follower_id=follower_id, target_id=target_id)


@shared_task(name="feeds.popular_rank", **RETRIES)
def popular_rank() -> int:
    """Rank the popular page again; return how many photos it holds."""
    return len(popular.popular_rank())
