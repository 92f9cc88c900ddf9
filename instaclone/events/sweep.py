"""Send what the relay left behind: events still pending a while after they were written.

The relay sends an event right after its commit and deletes its row; a row that is still there
after a grace period lost its relay (broker down, process killed, a hook before it raised).
The sweep runs on the worker's beat (``events.sweep``), over the users database and every
logical shard, a bounded number of rows a run. Rows are taken with ``FOR UPDATE SKIP LOCKED``
and deleted in the same transaction as they are sent, so two sweeps never send one row twice;
a crash between the send and the commit sends it again later (at least once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone

from instaclone.events.models import Event, PendingEvent, ShardEvent
from instaclone.events.sending import jobs_send
from instaclone.sharding.connections import query_shards, use_shard
from instaclone.sharding.topology import USERS_ALIAS, current_topology

logger = logging.getLogger(__name__)


class BrokerUnavailable(RuntimeError):
    """The broker refused a job: sending more this run would only wait on it again."""


@dataclass(slots=True)
class SweepReport:
    """What one run sent: ``(where, row ID)`` per event (``where`` is "users" or a shard)."""

    sent: list[tuple[str, int]] = field(default_factory=list)
    failed: bool = False


def events_sweep(*, grace_seconds: float, limit: int, now: datetime | None = None) -> SweepReport:
    """Send up to ``limit`` events written more than ``grace_seconds`` ago; oldest first.

    ``now`` moves the clock, for tests. Stops at the first job the broker refuses; a database
    that does not answer is skipped (its rows wait for a later run).
    """
    cutoff = (now or timezone.now()) - timedelta(seconds=grace_seconds)
    report = SweepReport()
    try:
        _sweep_where(Event, "users", USERS_ALIAS, cutoff, limit, report)
        topology = current_topology()
        for alias, shards in topology.group_by_server(range(topology.logical_shards)).items():
            for shard in _shards_due(alias, shards, cutoff):
                if len(report.sent) >= limit:
                    return report
                with use_shard(shard):
                    left = limit - len(report.sent)
                    _sweep_where(ShardEvent, str(shard), alias, cutoff, left, report)
    except BrokerUnavailable as exc:
        report.failed = True
        logger.error("event sweep stopped after %s event(s): %s", len(report.sent), exc)
    return report


def _shards_due(alias: str, shards: list[int], cutoff: datetime) -> list[int]:
    """Return the shards of one server holding an event older than ``cutoff``: one read."""
    table = ShardEvent._meta.db_table
    sql = f"SELECT %s FROM {{schema}}.{table} WHERE created_at < %s LIMIT 1"
    try:
        rows = query_shards(sql, {shard: [shard, cutoff] for shard in shards})
    except DatabaseError as exc:
        logger.warning("event sweep skipped the shards on %s: %s", alias, exc)
        return []
    return sorted(row[0] for row in rows)


def _sweep_where(
    model: type[PendingEvent],
    where: str,
    alias: str,
    cutoff: datetime,
    limit: int,
    report: SweepReport,
) -> None:
    """Sweep one table; a database error leaves its rows for a later run."""
    try:
        _sweep_rows(model, where, alias, cutoff, limit, report)
    except DatabaseError as exc:
        logger.warning("event sweep skipped %s: %s", where, exc)


def _sweep_rows(
    model: type[PendingEvent],
    where: str,
    alias: str,
    cutoff: datetime,
    limit: int,
    report: SweepReport,
) -> None:
    """Send and delete the due rows of one table in one transaction; skip rows locked elsewhere.

    Precondition: for ``ShardEvent``, the shard context of the rows. Raise BrokerUnavailable
    after recording what was sent before the broker refused.
    """
    refused: Exception | None = None
    with transaction.atomic(using=alias):
        rows = list(
            model.objects.using(alias)
            .select_for_update(skip_locked=True)
            .filter(created_at__lt=cutoff)
            .order_by("id")
            .values_list("id", "name", "payload")[:limit]
        )
        sent: list[int] = []
        for row_id, name, payload in rows:
            try:
                jobs_send(name, payload)
            except KeyError:
                # An event no longer in EVENT_JOBS: nothing reacts to it any more.
                logger.error("event %s %s has no jobs; dropped", name, payload)
            except Exception as exc:  # noqa: BLE001 - kombu and redis raise many kinds
                refused = exc
                break
            sent.append(row_id)
        model.objects.using(alias).filter(id__in=sent).delete()
        unsent = [row[0] for row in rows[len(sent) :]]
        if unsent:
            model.objects.using(alias).filter(id__in=unsent).update(attempts=F("attempts") + 1)
    report.sent.extend((where, row_id) for row_id in sent)
    if refused is not None:
        raise BrokerUnavailable(str(refused)) from refused
