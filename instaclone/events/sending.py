"""Hand an event's jobs to the broker, by task name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

# One quick retry (a pooled connection the broker closed); a broker that is really down is
# the sweep's business, not the request's: the caller must not wait on it for long.
RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0, "interval_max": 0}


def jobs_send(event: str, payload: Mapping[str, Any]) -> None:
    """Enqueue every job that reacts to ``event``; raise when the broker does not take one."""
    from instaclone.celery import app

    for name in settings.EVENT_JOBS[event]:
        app.send_task(name, kwargs=dict(payload), retry=True, retry_policy=RETRY_POLICY)
