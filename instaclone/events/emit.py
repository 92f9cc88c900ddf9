"""Write an event in the change's transaction and send its jobs right after the commit."""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.db import DatabaseError, transaction

from instaclone.sharding.connections import active_target, use_shard
from instaclone.sharding.topology import USERS_ALIAS

logger = logging.getLogger(__name__)


def event_emit(event: str, *, using: str, **payload: int) -> None:
    """Record ``event`` in the current transaction on ``using``; send its jobs once it commits.

    Precondition: for a shard server's alias, the shard context of the data that changed (the
    row goes to that shard's schema). Outside a transaction the row is written and sent at once.
    """
    if event not in settings.EVENT_JOBS:
        raise KeyError(f"no EVENT_JOBS entry for event {event!r}")
    # Imported here: this package's __init__ loads while the app registry is being filled.
    from instaclone.events.models import Event, ShardEvent

    shard: int | None = None
    if using == USERS_ALIAS:
        row_id = Event.objects.using(USERS_ALIAS).create(name=event, payload=payload).id
    else:
        target = active_target()
        if target.alias != using:
            raise ValueError(
                f"event {event!r} on {using!r} emitted in the context of shard {target.shard} "
                f"on {target.alias!r}"
            )
        shard = target.shard
        row_id = ShardEvent.objects.create(name=event, payload=payload).id
    # Robust: whatever this hook meets, the hooks registered after it still run.
    relay = functools.partial(_relay, event, payload, row_id, shard)
    transaction.on_commit(relay, using=using, robust=True)


def _relay(event: str, payload: dict[str, int], row_id: int, shard: int | None) -> None:
    """Send a committed event's jobs and delete its row; on failure leave the row to the sweep."""
    from instaclone.events.models import Event, ShardEvent
    from instaclone.events.sending import jobs_send

    try:
        jobs_send(event, payload)
    except Exception as exc:  # noqa: BLE001 - the row is committed: the sweep sends it later
        logger.warning("event %s %s left to the sweep: %s", event, payload, exc)
        return
    try:
        if shard is None:
            Event.objects.using(USERS_ALIAS).filter(id=row_id).delete()
        else:
            with use_shard(shard):
                ShardEvent.objects.filter(id=row_id).delete()
    except DatabaseError as exc:
        # Sent, but still pending: the sweep sends it once more (jobs are idempotent).
        logger.warning("event %s %s sent but not cleared: %s", event, payload, exc)
