"""Photos and what hangs off them: likes, comments, tags, upload idempotency.

A photo, its likes and its comments live on the owner's logical shard; the liker's list of
liked photos lives on the liker's shard. Tags live in the users database: a tag page reads one
index, whoever posted. Columns naming users or photos elsewhere are plain IDs.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from instaclone.sharding.fields import ShardedIdField
from instaclone.sharding.placement import sharded, users_database

CAPTION_MAX = 2200


@sharded
class Photo(models.Model):
    """One posted photo; its ID comes from the owner's shard and sorts by time."""

    id = ShardedIdField()
    user_id = models.BigIntegerField()
    caption = models.TextField(blank=True, default="")
    filter_name = models.CharField(max_length=32, default="Normal")
    # Storage key prefix of the renditions: "<prefix>_640.jpg", "_320.jpg", "_150.jpg".
    media_key = models.CharField(max_length=200, default="")
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    mentions = ArrayField(models.BigIntegerField(), default=list, blank=True)
    location_name = models.CharField(max_length=200, blank=True, default="")
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    like_count = models.IntegerField(default=0)
    comment_count = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["user_id", "-id"], name="photo_user_recent")]

    def __str__(self) -> str:
        return f"photo {self.id} of user {self.user_id}"


@sharded
class Like(models.Model):
    """Primary: ``user_id`` likes ``photo_id``. On the photo owner's shard."""

    id = ShardedIdField()
    photo_id = models.BigIntegerField()
    user_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["photo_id", "user_id"], name="like_unique")]
        indexes = [models.Index(fields=["photo_id", "-id"], name="like_photo_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.photo_id}"


@sharded
class Liked(models.Model):
    """Mirror: ``user_id`` liked ``photo_id`` of ``owner_id``. On the liker's shard."""

    id = ShardedIdField()
    user_id = models.BigIntegerField()
    photo_id = models.BigIntegerField()
    owner_id = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "photo_id"], name="liked_unique")]
        indexes = [models.Index(fields=["user_id", "-id"], name="liked_user_recent")]

    def __str__(self) -> str:
        return f"{self.user_id} liked {self.photo_id}"


@sharded
class LikeOutbox(models.Model):
    """A like whose mirror on the liker's shard must follow; on the owner's shard."""

    id = ShardedIdField()
    photo_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    attempts = models.IntegerField(default=0)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"like of {self.photo_id} by {self.user_id}"


@sharded
class Comment(models.Model):
    """A comment by ``user_id`` on ``photo_id``. On the photo owner's shard."""

    id = ShardedIdField()
    photo_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    text = models.TextField()
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    mentions = ArrayField(models.BigIntegerField(), default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["photo_id", "-id"], name="comment_photo_recent")]

    def __str__(self) -> str:
        return f"comment {self.id} on {self.photo_id}"


@sharded
class UploadKey(models.Model):
    """An ``Idempotency-Key`` of an upload: the request's fingerprint and the first answer."""

    user_id = models.BigIntegerField()
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    photo_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "key"], name="uploadkey_unique")]

    def __str__(self) -> str:
        return f"upload key {self.key} of {self.user_id}"


@users_database
class Tag(models.Model):
    """A hashtag: how many photos a stranger may see carry it, and how many others do."""

    name = models.CharField(max_length=100, primary_key=True)
    # Photos of active public accounts: what GET /v1/tags/{name} answers.
    media_count = models.IntegerField(default=0)
    # Photos of private or banned accounts, kept apart so a privacy switch moves, not recounts.
    hidden_count = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"#{self.name}"


@users_database
class TagMedia(models.Model):
    """The tag -> photo index; ``photo_id`` sorts by time, so a tag page is one range scan.

    ``visible`` says whether the owner is active and public (photos/services/tags.py keeps it
    so): a page reads visible rows from their own partial index, so however many hidden
    photos a tag holds, none of them is read for a stranger.
    """

    tag = models.CharField(max_length=100)
    photo_id = models.BigIntegerField()
    owner_id = models.BigIntegerField()
    visible = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tag", "photo_id"], name="tagmedia_unique"),
        ]
        indexes = [
            models.Index(
                fields=["tag", "-photo_id"],
                condition=models.Q(visible=True),
                name="tagmedia_visible_recent",
            ),
            # A follower's page reads the hidden rows of the owners they may see, one by one.
            models.Index(
                fields=["tag", "owner_id", "-photo_id"],
                condition=models.Q(visible=False),
                name="tagmedia_hidden_owner",
            ),
            # A privacy switch or a ban flips every row of the owner.
            models.Index(fields=["owner_id"], name="tagmedia_owner"),
        ]

    def __str__(self) -> str:
        return f"#{self.tag} on {self.photo_id}"
