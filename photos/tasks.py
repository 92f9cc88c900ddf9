"""Worker jobs of the photos app, named so other apps' events can reach them.

Jobs take IDs, make derived rows match the databases, and may run twice.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError

from photos.services.tags import tags_owner_sync


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
