"""Bring each edge's mirror on the other user's shard in line with its primary row.

Reconciling reads the primary row as it is now, under the lock of the mirror's owner, and makes
the mirror match: so it is idempotent, order does not matter, and the last reconcile after the
last change leaves both sides agreeing. Outbox rows are deleted once their edge is reconciled;
failures stay in the outbox and the worker retries them with backoff.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction
from django.db.models import F

from accounts.models import Block, BlockedBy, Follower, Following, GraphOutbox
from accounts.models.graph import EdgeStatus, OutboxKind
from accounts.services.graph import bump, following_drop, locked_counts
from instaclone.events import event_emit
from instaclone.sharding.connections import shard_for_user, use_shard, user_shard

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 2
RETRY_MAX_SECONDS = 300


def reconcile_follow(*, follower_id: int, target_id: int) -> None:
    """Make the followee's mirror of a follow edge match the follower's primary row."""
    with user_shard(target_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(target_id)
        # Read inside the lock: a later change is reconciled after this one releases it.
        with user_shard(follower_id):
            truth = (
                Following.objects.filter(user_id=follower_id, target_id=target_id)
                .values_list("status", flat=True)
                .first()
            )
        mirror = (
            Follower.objects.select_for_update()
            .filter(user_id=target_id, follower_id=follower_id)
            .first()
        )
        was_active = mirror is not None and mirror.status == EdgeStatus.ACTIVE
        if truth is None:
            if mirror is not None:
                mirror.delete()
        elif mirror is None:
            Follower.objects.create(user_id=target_id, follower_id=follower_id, status=truth)
        elif mirror.status != truth:
            mirror.status = truth
            mirror.save(update_fields=["status"])
        is_active = truth == EdgeStatus.ACTIVE
        if is_active != was_active:
            bump(target_id, followed_by=1 if is_active else -1)
            event_emit(
                "follow.changed", using=shard.alias, follower_id=follower_id, target_id=target_id
            )


def reconcile_block(*, blocker_id: int, target_id: int) -> None:
    """Make the blocked user's mirror match the block, and drop their edge to the blocker."""
    with user_shard(target_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(target_id)
        with user_shard(blocker_id):
            blocked = Block.objects.filter(user_id=blocker_id, target_id=target_id).exists()
        if blocked:
            BlockedBy.objects.get_or_create(user_id=target_id, blocker_id=blocker_id)
            # The target's own follow of the blocker is the target's primary row: dropping it
            # here, under the target's lock, queues its mirror like any other change.
            following_drop(target_id, blocker_id, shard.alias)
        else:
            BlockedBy.objects.filter(user_id=target_id, blocker_id=blocker_id).delete()


def reconcile(kind: str, user_id: int, target_id: int) -> None:
    """Reconcile one edge of either kind."""
    if kind == OutboxKind.FOLLOW:
        reconcile_follow(follower_id=user_id, target_id=target_id)
    elif kind == OutboxKind.BLOCK:
        reconcile_block(blocker_id=user_id, target_id=target_id)
    else:
        raise ValueError(f"unknown outbox kind {kind!r}")


def _drain(rows: list[tuple[int, str, int, int]]) -> tuple[int, int]:
    """Reconcile outbox rows (id, kind, user, target) of the active shard; return (done, failed).

    Precondition: a shard context for the shard holding the rows.
    """
    done = failed = 0
    for row_id, kind, user_id, target_id in rows:
        try:
            reconcile(kind, user_id, target_id)
        except DatabaseError as exc:
            failed += 1
            logger.warning("graph outbox %s %s->%s failed: %s", kind, user_id, target_id, exc)
            GraphOutbox.objects.filter(id=row_id).update(
                attempts=F("attempts") + 1, last_error=str(exc)[:2000]
            )
            continue
        GraphOutbox.objects.filter(id=row_id).delete()
        done += 1
    return done, failed


def outbox_drain_user(*, user_id: int) -> tuple[int, int]:
    """Reconcile the pending edges a user's actions queued; schedule a retry for failures."""
    try:
        with user_shard(user_id):
            rows = list(
                GraphOutbox.objects.filter(user_id=user_id)
                .order_by("id")
                .values_list("id", "kind", "user_id", "target_id")
            )
            done, failed = _drain(rows)
    except DatabaseError as exc:
        logger.warning("graph outbox of user %s not drained: %s", user_id, exc)
        done, failed = 0, 1
    if failed:
        schedule_retry(shard=shard_for_user(user_id), attempt=1)
    return done, failed


def outbox_drain_shard(*, shard: int, limit: int = 1000) -> tuple[int, int]:
    """Reconcile up to ``limit`` pending edges of one logical shard, oldest first."""
    with use_shard(shard):
        rows = list(
            GraphOutbox.objects.order_by("id").values_list("id", "kind", "user_id", "target_id")[
                :limit
            ]
        )
        return _drain(rows)


def schedule_retry(*, shard: int, attempt: int) -> None:
    """Ask the worker to drain a shard's outbox later, backing off; never raise to the caller."""
    from accounts.tasks import graph_outbox_drain

    countdown = min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1))
    try:
        graph_outbox_drain.apply_async(args=[shard, attempt], countdown=countdown)
    except Exception:  # noqa: BLE001 - the broker may be down; the sweep finds the rows later
        logger.exception("could not schedule the graph outbox retry for shard %s", shard)
