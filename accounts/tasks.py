"""Worker jobs of the accounts app: draining the follow-graph outbox."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_ready

from accounts.services.outbox import outbox_drain_shard, schedule_retry


@shared_task(acks_late=True)
def graph_outbox_drain(shard: int, attempt: int = 1) -> tuple[int, int]:
    """Reconcile a shard's pending edges; retry later, backing off, while some still fail."""
    done, failed = outbox_drain_shard(shard=shard)
    if failed:
        schedule_retry(shard=shard, attempt=attempt + 1)
    return done, failed


@shared_task
def graph_outbox_sweep() -> None:
    """Queue a drain of every logical shard (rows left by a crash between commit and drain)."""
    from instaclone.sharding.topology import current_topology

    for shard in range(current_topology().logical_shards):
        graph_outbox_drain.delay(shard)


@worker_ready.connect
def _sweep_on_start(**_: object) -> None:
    graph_outbox_sweep.delay()
