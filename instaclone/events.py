"""Events that leave a transaction only once it commits, as jobs for the apps that react.

An app states what happened (``event_emit("photo.posted", using=alias, photo_id=...)``); which
jobs react is written once, in settings (``EVENT_JOBS``), by task name. So an app never imports
the apps to its right, and a rolled-back transaction sends nothing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def event_emit(event: str, *, using: str, **payload: int) -> None:
    """Enqueue the jobs that react to ``event`` after the transaction on ``using`` commits.

    Outside a transaction they are enqueued at once. A broker that cannot be reached is logged
    (and reaches Sentry); what the jobs derive can be rebuilt from the databases.
    """
    names = settings.EVENT_JOBS.get(event)
    if names is None:
        raise KeyError(f"no EVENT_JOBS entry for event {event!r}")

    def send() -> None:
        from instaclone.celery import app

        for name in names:
            try:
                app.send_task(name, kwargs=payload)
            except Exception:  # noqa: BLE001 - the commit stands; the loss is logged
                logger.exception("could not enqueue %s for %s %s", name, event, payload)

    transaction.on_commit(send, using=using)
