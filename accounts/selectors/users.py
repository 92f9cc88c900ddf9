"""Reads of users: look-ups by ID, search, and the v1 user objects as plain data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Q
from django.db.models.functions import Lower

from accounts.models import User

SEARCH_MAX = 50


def picture_url(key: str, *, seconds: int | None = None) -> str:
    """Return the URL of a stored profile picture, or an empty string without one.

    ``seconds`` sets how long a signed S3 URL works (the storage's default otherwise).
    """
    if not key:
        return ""
    if seconds is not None and hasattr(default_storage, "bucket"):
        return str(default_storage.url(key, expire=seconds))
    return str(default_storage.url(key))


def user_short(user: User) -> dict[str, Any]:
    """Return v1's short user object."""
    return {
        "id": str(user.id),
        "username": user.username,
        "full_name": user.full_name,
        "profile_picture": picture_url(user.profile_picture),
    }


def user_full(user: User, counts: dict[str, int] | None) -> dict[str, Any]:
    """Return v1's full user object; ``counts`` is None when the viewer may not see them."""
    data = user_short(user) | {"bio": user.bio, "website": user.website}
    if counts is not None:
        data["counts"] = {
            "media": counts["media"],
            "follows": counts["follows"],
            "followed_by": counts["followed_by"],
        }
    return data


def active_user(user_id: int) -> User | None:
    """Return an active user by ID, or None."""
    return User.objects.filter(id=user_id, is_active=True).first()


def users_by_id(user_ids: Iterable[int]) -> dict[int, User]:
    """Return the active users among ``user_ids``, in one query."""
    ids = list(dict.fromkeys(user_ids))
    return {user.id: user for user in User.objects.filter(id__in=ids, is_active=True)}


def user_ids_by_username(names: Iterable[str]) -> list[int]:
    """Return the IDs of the active users with these (lowercase) usernames, in one query."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return []
    found = User.objects.annotate(lower_username=Lower("username")).filter(
        lower_username__in=wanted, is_active=True
    )
    return sorted(found.values_list("id", flat=True))


def user_public_locked(*, user_id: int) -> bool:
    """Return whether strangers may see a user's photos (active and public), locking the row.

    Precondition: inside a transaction on the users database. The row stays locked until it
    ends, so a privacy switch or a ban of this user waits for the caller's writes.
    """
    row = (
        User.objects.select_for_update(no_key=True)
        .filter(id=user_id)
        .values_list("is_active", "is_private")
        .first()
    )
    return row is not None and row[0] and not row[1]


def hidden_from(viewer_id: int | None) -> frozenset[int]:
    """Return the users a viewer blocked or was blocked by, through the cache."""
    # Imported here: the cache module builds its users with this module's picture_url.
    from accounts.selectors.cached import hidden_cached

    return hidden_cached(viewer_id)


def user_search(*, query: str, count: int, viewer_id: int | None) -> list[User]:
    """Return active users whose username or full name starts with ``query``, any case.

    Both columns carry a ``lower(...) varchar_pattern_ops`` index, which this prefix match uses.
    """
    prefix = query.strip().lower()
    if not prefix:
        return []
    matches = (
        User.objects.annotate(lower_username=Lower("username"), lower_full_name=Lower("full_name"))
        .filter(
            Q(lower_username__startswith=prefix) | Q(lower_full_name__startswith=prefix),
            is_active=True,
        )
        .order_by("lower_username")
    )
    hidden = hidden_from(viewer_id)
    if hidden:
        matches = matches.exclude(id__in=hidden)
    return list(matches[: min(count, SEARCH_MAX)])
