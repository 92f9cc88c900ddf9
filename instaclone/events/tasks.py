"""The worker's sweep of pending events (run by its beat)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from instaclone.events.sweep import events_sweep


@shared_task(name="events.sweep")
def sweep() -> int:
    """Send the events whose relay did not; return how many were sent."""
    report = events_sweep(
        grace_seconds=settings.EVENT_SWEEP_GRACE_SECONDS, limit=settings.EVENT_SWEEP_LIMIT
    )
    return len(report.sent)
