"""Worker jobs of the photos app, named so other apps' events and the beat can reach them.

Jobs take IDs, make derived rows match the databases, and may run twice.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from photos.services.tags import tags_owner_sync
from photos.services.upload import photo_index
from photos.storage import stashes_delete_older_than


@shared_task(name="photos.upload_stashes_sweep")
def upload_stashes_sweep(now: float | None = None) -> int:
    """Delete web-upload originals stashed longer ago than UPLOAD_STASH_SECONDS; count them.

    ``now`` moves the clock, for tests. Run by the worker's beat: a plain after-commit hook
    could be lost with its process, and an abandoned upload has no request to hook into.
    """
    return stashes_delete_older_than(seconds=settings.UPLOAD_STASH_SECONDS, now=now)


@shared_task(
    name="photos.tags_owner_sync",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=1,
    retry_backoff_max=120,
    max_retries=10,
)
def tags_owner_sync_job(user_id: int) -> int:
    """Move a user's tag index rows and counts to match their privacy and status."""
    return tags_owner_sync(owner_id=user_id)


@shared_task(
    name="photos.photo_index",
    acks_late=True,
    autoretry_for=(DatabaseError,),
    retry_backoff=1,
    retry_backoff_max=120,
    max_retries=10,
)
def photo_index_job(photo_id: int, owner_id: int) -> bool:
    """Put a posted photo in the photo->user map and under its tags (event ``photo.posted``)."""
    return photo_index(photo_id=photo_id, owner_id=owner_id)
