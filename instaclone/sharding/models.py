"""Tables of the sharding layer itself, all in the users database."""

from __future__ import annotations

from django.db import models

from instaclone.sharding.placement import users_database


@users_database
class ShardPlacement(models.Model):
    """One row per logical shard: the physical server (database alias) that holds it."""

    logical_shard = models.IntegerField(primary_key=True)
    server = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"shard {self.logical_shard} on {self.server}"


@users_database
class PhotoOwner(models.Model):
    """The authoritative photo->user map; Redis holds a compact copy for fast routing."""

    photo_id = models.BigIntegerField(primary_key=True)
    user_id = models.BigIntegerField()

    def __str__(self) -> str:
        return f"photo {self.photo_id} of user {self.user_id}"
