"""The moderation audit log, in the users database: one row per moderator action, never edited."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from instaclone.sharding.placement import users_database

REASON_MAX_LENGTH = 1000


class ModerationAction(models.TextChoices):
    USER_DEACTIVATE = "user_deactivate", "deactivate user"
    USER_REACTIVATE = "user_reactivate", "reactivate user"


class ModerationTarget(models.TextChoices):
    USER = "user", "user"


@users_database
class ModeratorAction(models.Model):
    """What a moderator did to which object, and why.

    Moderator and target are plain IDs, not foreign keys, so the log outlives deleted accounts
    and can name objects on the shards (photos, comments) as well as users.
    """

    created_at = models.DateTimeField(default=timezone.now)
    moderator_id = models.BigIntegerField()
    action = models.CharField(max_length=32, choices=ModerationAction.choices)
    target_type = models.CharField(max_length=16, choices=ModerationTarget.choices)
    target_id = models.BigIntegerField()
    reason = models.CharField(max_length=REASON_MAX_LENGTH)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(reason=""), name="moderatoraction_reason_required"
            ),
        ]
        indexes = [
            models.Index(
                fields=["target_type", "target_id", "-created_at"],
                name="moderatoraction_target",
            ),
            models.Index(fields=["moderator_id", "-created_at"], name="moderatoraction_moderator"),
        ]

    def __str__(self) -> str:
        return f"{self.moderator_id} {self.action} {self.target_type} {self.target_id}"
