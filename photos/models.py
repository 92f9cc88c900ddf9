"""Photos, stored on their owner's logical shard."""

from __future__ import annotations

from django.db import models

from instaclone.sharding.fields import ShardedIdField
from instaclone.sharding.placement import sharded


@sharded
class Photo(models.Model):
    """One posted photo; its ID comes from the owner's shard and sorts by time."""

    id = ShardedIdField()
    user_id = models.BigIntegerField()
    caption = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["user_id", "-id"], name="photo_user_recent")]

    def __str__(self) -> str:
        return f"photo {self.id} of user {self.user_id}"
