"""jobs_due: what the broker holds for the worker, counted the way the waits need it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import redis
from django.conf import settings

from tests.worker_queue import jobs_due

SCRATCH_DB = 7  # not the map's db 0 nor the broker's db 1


def _entry(eta: datetime | None) -> str:
    headers = {"task": "feeds.follow_changed", "eta": eta.isoformat() if eta else None}
    return json.dumps([{"headers": headers, "body": ""}, "", "celery"])


def test_queued_running_and_past_eta_jobs_count_but_future_retries_do_not() -> None:
    url = settings.CELERY_BROKER_URL.rsplit("/", 1)[0] + f"/{SCRATCH_DB}"
    broker = redis.Redis.from_url(url)
    broker.flushdb()
    try:
        assert jobs_due(broker) == 0
        now = datetime.now(UTC)
        broker.rpush("celery", "a queued job")
        broker.hset("unacked", "running", _entry(None))
        broker.hset("unacked", "due", _entry(now - timedelta(seconds=1)))
        broker.hset("unacked", "naive-due", _entry(datetime.utcnow() - timedelta(seconds=5)))
        assert jobs_due(broker) == 4
        broker.hset("unacked", "retry", _entry(now + timedelta(seconds=60)))
        assert jobs_due(broker) == 4
        broker.delete("celery")
        broker.hdel("unacked", "running", "due", "naive-due")
        assert jobs_due(broker) == 0
    finally:
        broker.flushdb()
