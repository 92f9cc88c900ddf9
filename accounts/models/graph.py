"""The follow graph, sharded: each edge is written on one user's shard and mirrored on the other's.

The primary row lives on the shard of the user whose action it is (the follower, the blocker);
the mirror on the other user's shard is derived from it by the outbox, idempotently. Columns
that name another user are plain IDs: no foreign keys cross shards.
"""

from __future__ import annotations

from django.db import models

from instaclone.sharding.fields import ShardedIdField
from instaclone.sharding.placement import sharded


class EdgeStatus(models.TextChoices):
    ACTIVE = "active", "following"
    REQUESTED = "requested", "requested"


@sharded
class Following(models.Model):
    """Primary: ``user_id`` follows (or asked to follow) ``target_id``. On the follower's shard."""

    id = ShardedIdField()
    user_id = models.BigIntegerField()
    target_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=EdgeStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "target_id"], name="following_unique"),
        ]
        indexes = [models.Index(fields=["user_id", "status", "-id"], name="following_list")]

    def __str__(self) -> str:
        return f"{self.user_id} -> {self.target_id} ({self.status})"


@sharded
class Follower(models.Model):
    """Mirror: ``follower_id`` follows (or asked to follow) ``user_id``. On the followee's shard."""

    id = ShardedIdField()
    user_id = models.BigIntegerField()
    follower_id = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=EdgeStatus.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "follower_id"], name="follower_unique"),
        ]
        indexes = [models.Index(fields=["user_id", "status", "-id"], name="follower_list")]

    def __str__(self) -> str:
        return f"{self.follower_id} -> {self.user_id} ({self.status})"


@sharded
class Block(models.Model):
    """Primary: ``user_id`` blocked ``target_id``. On the blocker's shard."""

    id = ShardedIdField()
    user_id = models.BigIntegerField()
    target_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "target_id"], name="block_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} blocked {self.target_id}"


@sharded
class BlockedBy(models.Model):
    """Mirror: ``blocker_id`` blocked ``user_id``. On the blocked user's shard."""

    id = ShardedIdField()
    user_id = models.BigIntegerField()
    blocker_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "blocker_id"], name="blockedby_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} blocked by {self.blocker_id}"


@sharded
class GraphCounts(models.Model):
    """A user's counts, kept on their shard in the transactions that change what they count."""

    user_id = models.BigIntegerField(primary_key=True)
    media = models.IntegerField(default=0)
    follows = models.IntegerField(default=0)
    followed_by = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: follows {self.follows}, followed by {self.followed_by}"


class OutboxKind(models.TextChoices):
    FOLLOW = "follow", "follow edge"
    BLOCK = "block", "block edge"


@sharded
class GraphOutbox(models.Model):
    """An edge whose mirror must be brought in line with its primary row; deleted once done."""

    id = ShardedIdField()
    kind = models.CharField(max_length=10, choices=OutboxKind.choices)
    user_id = models.BigIntegerField()
    target_id = models.BigIntegerField()
    attempts = models.IntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.user_id} -> {self.target_id}"
