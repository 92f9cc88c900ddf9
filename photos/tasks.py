"""Worker jobs of the photos app: sweeping web uploads' stashed originals."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from photos.storage import stashes_delete_older_than


@shared_task(name="photos.upload_stashes_sweep")
def upload_stashes_sweep(now: float | None = None) -> int:
    """Delete web-upload originals stashed longer ago than UPLOAD_STASH_SECONDS; count them.

    ``now`` moves the clock, for tests. Run by the worker's beat: a plain after-commit hook
    could be lost with its process, and an abandoned upload has no request to hook into.
    """
    return stashes_delete_older_than(seconds=settings.UPLOAD_STASH_SECONDS, now=now)
