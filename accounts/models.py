"""People: the custom user model, in the users database."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from instaclone.sharding.placement import users_database


@users_database
class User(AbstractUser):
    """A person with an account; their shard is ``id % N``."""

    full_name = models.CharField(max_length=150, blank=True)
    bio = models.CharField(max_length=150, blank=True)
    website = models.URLField(max_length=200, blank=True)
    is_private = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.username
