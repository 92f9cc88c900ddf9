"""Events waiting to be relayed: one table in the users database, one in every shard schema.

A row is written in the transaction of the change it reports and deleted once its jobs are
sent; a row left behind (broker down, process killed, a hook dropped) is sent by the sweep.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from instaclone.sharding.fields import ShardedIdField
from instaclone.sharding.placement import sharded, users_database


class PendingEvent(models.Model):
    """What happened, with the IDs its jobs take; the fields both tables share."""

    name = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(db_default=Now())
    attempts = models.IntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} {self.payload}"


@users_database
class Event(PendingEvent):
    """An event of a change to the users database (a user's save)."""

    id = models.BigAutoField(primary_key=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="events_event_created")]


@sharded
class ShardEvent(PendingEvent):
    """An event of a change to one logical shard; lives in that shard's schema."""

    id = ShardedIdField()

    class Meta:
        indexes = [models.Index(fields=["created_at"], name="events_shardevent_created")]
