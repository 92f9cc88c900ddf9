"""The test stack's Celery queue as the broker holds it: what is waiting or running now."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import redis


def jobs_due(broker: redis.Redis) -> int:
    """Jobs queued, or taken by the worker and not yet finished, that are due to run now.

    Jobs with an ETA still ahead (a graph outbox retry, a backoff) wait in kombu's ``unacked``
    hash without running; they are not counted.
    """
    return broker.llen("celery") + sum(map(_due, broker.hvals("unacked")))


def _due(raw: bytes) -> bool:
    """Whether an ``unacked`` entry ([message, exchange, routing key]) is due to run."""
    eta = json.loads(raw)[0].get("headers", {}).get("eta")
    if eta is None:
        return True
    when = datetime.fromisoformat(eta)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)) <= datetime.now(UTC)


def jobs_settle(timeout: float = 30.0) -> None:
    """Wait until the test stack's worker has taken and finished every job that is due."""
    import time

    from django.conf import settings

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + timeout
    while jobs_due(broker):
        if time.monotonic() > deadline:
            raise AssertionError("the worker did not finish its jobs in time")
        time.sleep(0.05)
