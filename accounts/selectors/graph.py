"""Reads of the follow graph: counts, relationships, who may see what, and edge lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from accounts.models import Block, BlockedBy, Follower, Following
from accounts.models.graph import EdgeStatus
from accounts.selectors.cached import hidden_cached
from instaclone.sharding.connections import query_shards, shard_for_user, user_shard

COUNT_FIELDS = ("media", "follows", "followed_by")


def user_counts(*, user_id: int) -> dict[str, int]:
    """Return a user's media, follows and followed_by counts."""
    return counts_for([user_id])[user_id]


def counts_for(user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Return the counts of many users: one round trip per physical server."""
    ids = list(dict.fromkeys(user_ids))
    by_shard: dict[int, list[int]] = {}
    for user_id in ids:
        by_shard.setdefault(shard_for_user(user_id), []).append(user_id)
    rows = query_shards(
        "SELECT user_id, media, follows, followed_by FROM {schema}.accounts_graphcounts "
        "WHERE user_id = ANY(%s)",
        {shard: [members] for shard, members in by_shard.items()},
    )
    found = {row[0]: dict(zip(COUNT_FIELDS, row[1:], strict=True)) for row in rows}
    return {user_id: found.get(user_id, dict.fromkeys(COUNT_FIELDS, 0)) for user_id in ids}


@dataclass(frozen=True, slots=True)
class Relationship:
    """How a viewer and another user stand, in v1's words."""

    outgoing_status: str  # follows, requested, none
    incoming_status: str  # followed_by, requested_by, blocked_by_you, none
    target_user_is_private: bool
    blocked_by_target: bool


def relationship(*, viewer_id: int, target_id: int, target_is_private: bool) -> Relationship:
    """Read both directions of the edge from the viewer's own shard."""
    with user_shard(viewer_id):
        outgoing = (
            Following.objects.filter(user_id=viewer_id, target_id=target_id)
            .values_list("status", flat=True)
            .first()
        )
        incoming = (
            Follower.objects.filter(user_id=viewer_id, follower_id=target_id)
            .values_list("status", flat=True)
            .first()
        )
        blocked_by_you = Block.objects.filter(user_id=viewer_id, target_id=target_id).exists()
        blocked_by_target = BlockedBy.objects.filter(
            user_id=viewer_id, blocker_id=target_id
        ).exists()
    if blocked_by_you:
        incoming_status = "blocked_by_you"
    elif incoming == EdgeStatus.ACTIVE:
        incoming_status = "followed_by"
    elif incoming == EdgeStatus.REQUESTED:
        incoming_status = "requested_by"
    else:
        incoming_status = "none"
    return Relationship(
        outgoing_status={EdgeStatus.ACTIVE: "follows", EdgeStatus.REQUESTED: "requested"}.get(
            outgoing, "none"
        ),
        incoming_status=incoming_status,
        target_user_is_private=target_is_private,
        blocked_by_target=blocked_by_target,
    )


@dataclass(frozen=True, slots=True)
class Access:
    """What a viewer may see of an account."""

    profile: bool  # the public profile: name, picture, bio, counts (and the unblock button)
    content: bool  # photos, follows and followers lists


def access(*, viewer_id: int | None, owner_id: int, owner_is_private: bool) -> Access:
    """Decide what a viewer (None when anonymous) may see of an owner's account."""
    if viewer_id == owner_id:
        return Access(profile=True, content=True)
    if viewer_id is None:
        return Access(profile=True, content=not owner_is_private)
    with user_shard(viewer_id):
        if BlockedBy.objects.filter(user_id=viewer_id, blocker_id=owner_id).exists():
            return Access(profile=False, content=False)
        if Block.objects.filter(user_id=viewer_id, target_id=owner_id).exists():
            # The blocker still reaches the bare profile, to find the way to unblock.
            return Access(profile=True, content=False)
        if not owner_is_private:
            return Access(profile=True, content=True)
        approved = Following.objects.filter(
            user_id=viewer_id, target_id=owner_id, status=EdgeStatus.ACTIVE
        ).exists()
    return Access(profile=True, content=approved)


def follows_page(
    *,
    user_id: int,
    count: int,
    max_id: int | None,
    min_id: int | None = None,
    viewer_id: int | None = None,
) -> list[tuple[int, int]]:
    """Return up to ``count`` (edge ID, followed user ID) pairs, newest first.

    Users who blocked ``viewer_id`` or whom the viewer blocked are left out in the query, so a
    page is full whenever more rows exist and its last edge is the right cursor.
    """
    hidden = hidden_cached(viewer_id)
    with user_shard(user_id):
        edges = Following.objects.filter(user_id=user_id, status=EdgeStatus.ACTIVE)
        if hidden:
            edges = edges.exclude(target_id__in=hidden)
        if max_id is not None:
            edges = edges.filter(id__lt=max_id)
        if min_id is not None:
            edges = edges.filter(id__gt=min_id)
        return list(edges.order_by("-id").values_list("id", "target_id")[:count])


def followers_page(
    *,
    user_id: int,
    count: int,
    max_id: int | None,
    min_id: int | None = None,
    status: str = EdgeStatus.ACTIVE,
    viewer_id: int | None = None,
) -> list[tuple[int, int]]:
    """Return up to ``count`` (edge ID, follower ID) pairs, newest first, of one status.

    Users hidden from ``viewer_id`` by a block, either way, are left out as in ``follows_page``.
    """
    hidden = hidden_cached(viewer_id)
    with user_shard(user_id):
        edges = Follower.objects.filter(user_id=user_id, status=status)
        if hidden:
            edges = edges.exclude(follower_id__in=hidden)
        if max_id is not None:
            edges = edges.filter(id__lt=max_id)
        if min_id is not None:
            edges = edges.filter(id__gt=min_id)
        return list(edges.order_by("-id").values_list("id", "follower_id")[:count])


def owners_visible_to(*, viewer_id: int | None, owners: dict[int, bool]) -> set[int]:
    """Return which owners' photos a viewer may see; ``owners`` maps owner ID to is_private.

    Two reads on the viewer's shard at most, whatever the number of owners.
    """
    if viewer_id is None:
        return {owner for owner, private in owners.items() if not private}
    with user_shard(viewer_id):
        hidden = set(
            Block.objects.filter(user_id=viewer_id, target_id__in=owners).values_list(
                "target_id", flat=True
            )
        ) | set(
            BlockedBy.objects.filter(user_id=viewer_id, blocker_id__in=owners).values_list(
                "blocker_id", flat=True
            )
        )
        private = [owner for owner, is_private in owners.items() if is_private]
        approved = set(
            Following.objects.filter(
                user_id=viewer_id, target_id__in=private, status=EdgeStatus.ACTIVE
            ).values_list("target_id", flat=True)
        )
    return {
        owner
        for owner, is_private in owners.items()
        if owner not in hidden and (not is_private or owner in approved or owner == viewer_id)
    }
