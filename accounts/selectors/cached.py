"""Users and the graph facts that every list of photos needs, through Memcached.

- ``USERS``: v1's short user plus ``is_private``, for active users only (a banned account reads
  as absent). Forgotten when the user row is saved or deleted.
- ``FOLLOWEES``: whom a user follows (approved edges). Forgotten whenever one of the user's own
  follow rows is saved or deleted (a follow, an approval, the drop a block makes).
- ``HIDDEN``: the users a user blocked or was blocked by. Forgotten for both users on a block or
  an unblock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models.signals import post_delete, post_save

from accounts.models import Block, BlockedBy, Following, User
from accounts.models.graph import EdgeStatus
from accounts.selectors.users import picture_url
from instaclone.caching import Kind, cached_fetch, cached_forget
from instaclone.sharding.connections import query_shards, shard_for_user

# A cached user carries its picture's signed URL, and photo cards (cached up to an hour) embed
# cached users: the entry lives a sixth as long as the URL, so a URL read from a card built
# from it works for at least 40 minutes more. Two hours, as for photos (photos/storage.py).
PICTURE_URL_SECONDS = 2 * 3600
USER_SECONDS = PICTURE_URL_SECONDS // 6
GRAPH_SECONDS = 24 * 3600


def _users_load(user_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = User.objects.filter(id__in=user_ids, is_active=True).values_list(
        "id", "username", "full_name", "profile_picture", "is_private"
    )
    return {
        row[0]: {
            "id": row[0],
            "username": row[1],
            "full_name": row[2],
            "profile_picture": picture_url(row[3], seconds=PICTURE_URL_SECONDS),
            "is_private": row[4],
        }
        for row in rows
    }


def _by_shard(user_ids: Iterable[int]) -> dict[int, list[list[int]]]:
    by_shard: dict[int, list[int]] = {}
    for user_id in user_ids:
        by_shard.setdefault(shard_for_user(user_id), []).append(user_id)
    return {shard: [members] for shard, members in by_shard.items()}


def _followees_load(user_ids: list[int]) -> dict[int, frozenset[int]]:
    rows = query_shards(
        "SELECT user_id, target_id FROM {schema}.accounts_following "
        f"WHERE user_id = ANY(%s) AND status = '{EdgeStatus.ACTIVE.value}'",
        _by_shard(user_ids),
    )
    found: dict[int, set[int]] = {user_id: set() for user_id in user_ids}
    for user_id, target_id in rows:
        found[user_id].add(target_id)
    return {user_id: frozenset(targets) for user_id, targets in found.items()}


def _hidden_load(user_ids: list[int]) -> dict[int, frozenset[int]]:
    rows = query_shards(
        "SELECT user_id, target_id FROM {schema}.accounts_block WHERE user_id = ANY(%s) "
        "UNION ALL SELECT user_id, blocker_id FROM {schema}.accounts_blockedby "
        "WHERE user_id = ANY(%s)",
        {shard: params * 2 for shard, params in _by_shard(user_ids).items()},
    )
    found: dict[int, set[int]] = {user_id: set() for user_id in user_ids}
    for user_id, other_id in rows:
        found[user_id].add(other_id)
    return {user_id: frozenset(others) for user_id, others in found.items()}


# u2: users cached before pictures' URLs lived two hours carry week-long ones.
USERS = Kind("u2", _users_load, USER_SECONDS)
FOLLOWEES = Kind("fe", _followees_load, GRAPH_SECONDS)
HIDDEN = Kind("hd", _hidden_load, GRAPH_SECONDS)


def users_cached(user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Return the cached short users of the active users among ``user_ids``."""
    return cached_fetch({USERS: set(user_ids)})[USERS]


def followees_cached(user_id: int) -> frozenset[int]:
    """Return whom a user follows (approved edges only)."""
    return cached_fetch({FOLLOWEES: [user_id]})[FOLLOWEES].get(user_id, frozenset())


def hidden_cached(user_id: int | None) -> frozenset[int]:
    """Return the users a user blocked or was blocked by (nobody for an anonymous viewer)."""
    if user_id is None:
        return frozenset()
    return cached_fetch({HIDDEN: [user_id]})[HIDDEN].get(user_id, frozenset())


def followees_forget(user_id: int, *, using: str | None) -> None:
    """Forget whom a user follows (call inside the transaction that changes it)."""
    cached_forget(FOLLOWEES, [user_id], using=using)


def hidden_forget(user_ids: Iterable[int], *, using: str | None) -> None:
    """Forget the blocks of users (call inside the transaction that changes them)."""
    cached_forget(HIDDEN, user_ids, using=using)


def user_shown_changed(update_fields: Iterable[str] | None) -> bool:
    """Tell whether a user save (its ``update_fields``) may change what others are shown."""
    return update_fields is None or not set(update_fields) <= {"last_login", "password"}


def _user_changed(sender: type, instance: User, **kwargs: Any) -> None:
    if not user_shown_changed(kwargs.get("update_fields")):
        return
    cached_forget(USERS, [instance.pk], using=instance._state.db or "default")


def _block_changed(sender: type, instance: Block | BlockedBy, **kwargs: Any) -> None:
    other = instance.target_id if isinstance(instance, Block) else instance.blocker_id
    hidden_forget([instance.user_id, other], using=instance._state.db)


def _following_changed(sender: type, instance: Following, **kwargs: Any) -> None:
    followees_forget(instance.user_id, using=instance._state.db)


def connect_cache_receivers() -> None:
    """Keep the cached users and blocks in step with their rows (idempotent)."""
    post_save.connect(_user_changed, sender=User, dispatch_uid="accounts-user-cache-save")
    post_delete.connect(_user_changed, sender=User, dispatch_uid="accounts-user-cache-delete")
    receivers = (
        (Block, _block_changed),
        (BlockedBy, _block_changed),
        (Following, _following_changed),
    )
    for model, receiver in receivers:
        for signal, name in ((post_save, "save"), (post_delete, "delete")):
            signal.connect(receiver, sender=model, dispatch_uid=f"accounts-{model.__name__}-{name}")
