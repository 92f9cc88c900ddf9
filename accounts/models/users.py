"""People: the custom user model, in the users database."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Lower

from instaclone.sharding.placement import users_database


@users_database
class User(AbstractUser):
    """A person with an account; their logical shard is ``id % N``."""

    full_name = models.CharField(max_length=150, blank=True)
    bio = models.CharField(max_length=150, blank=True)
    website = models.URLField(max_length=200, blank=True)
    is_private = models.BooleanField(default=False)
    # Storage key of the 150 px profile picture; empty means the default picture.
    profile_picture = models.CharField(max_length=255, blank=True)
    # Why a moderator deactivated the account (empty while active).
    ban_reason = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
            # Log-in by email and password reset look addresses up regardless of case.
            models.UniqueConstraint(
                Lower("email"), condition=~models.Q(email=""), name="user_email_ci_unique"
            ),
        ]
        indexes = [
            # Prefix search: lower(column) LIKE 'abc%' uses these.
            models.Index(
                OpClass(Lower("username"), name="varchar_pattern_ops"),
                name="user_username_prefix",
            ),
            models.Index(
                OpClass(Lower("full_name"), name="varchar_pattern_ops"),
                name="user_full_name_prefix",
            ),
        ]

    def __str__(self) -> str:
        return self.username
