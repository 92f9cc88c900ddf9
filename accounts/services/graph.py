"""Follow, unfollow, requests, blocks: the primary row and an outbox row in one shard transaction.

Every action writes on the shard of the user whose edge it is (the follower's for a follow, the
blocker's for a block), together with an outbox row. After the commit the mirror on the other
user's shard is reconciled from that primary row (``accounts.services.outbox``), idempotently,
and retried by the worker until done.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from accounts.models import Block, BlockedBy, Following, GraphCounts, GraphOutbox, User
from accounts.models.graph import EdgeStatus, OutboxKind
from instaclone.sharding.connections import user_shard

ACTIONS = ("follow", "unfollow", "block", "unblock", "approve", "ignore")


class GraphError(Exception):
    """A relationship action that cannot be done; the message is for the person."""


class UserNotFound(GraphError):
    """The other user does not exist or is deactivated."""


class ActionNotAllowed(GraphError):
    """The action is not possible between these two users."""


@dataclass(frozen=True, slots=True)
class Person:
    """The other user of an action: who they are and whether their account is private."""

    id: int
    is_private: bool


def person(user_id: int) -> Person:
    """Return an active user by ID, or raise ``UserNotFound``."""
    row = User.objects.filter(id=user_id, is_active=True).values_list("id", "is_private").first()
    if row is None:
        raise UserNotFound("this user does not exist")
    return Person(id=row[0], is_private=row[1])


def locked_counts(user_id: int) -> GraphCounts:
    """Lock and return a user's counts row; the caller holds a transaction on their shard.

    The lock serialises every change to this user's edges, so counts stay exact whatever
    the interleaving of actions.
    """
    counts, _ = GraphCounts.objects.select_for_update().get_or_create(user_id=user_id)
    return counts


def bump(user_id: int, **deltas: int) -> None:
    """Add to a user's counts (under ``locked_counts``)."""
    GraphCounts.objects.filter(user_id=user_id).update(
        **{name: F(name) + delta for name, delta in deltas.items()}
    )


def _enqueue(kind: str, user_id: int, target_id: int, alias: str) -> None:
    """Record an edge whose mirror must follow, and reconcile it right after the commit."""
    GraphOutbox.objects.create(kind=kind, user_id=user_id, target_id=target_id)

    def reconcile_now() -> None:
        from accounts.services.outbox import outbox_drain_user

        outbox_drain_user(user_id=user_id)

    transaction.on_commit(reconcile_now, using=alias)


def _blocked_between(user_id: int, other_id: int) -> str | None:
    """Say who blocked whom between a user and another, from the user's own shard."""
    if Block.objects.filter(user_id=user_id, target_id=other_id).exists():
        return "you"
    if BlockedBy.objects.filter(user_id=user_id, blocker_id=other_id).exists():
        return "them"
    return None


def follow(*, follower_id: int, target_id: int) -> str:
    """Follow an account, or ask to when it is private; return the outgoing status."""
    if follower_id == target_id:
        raise ActionNotAllowed("you cannot follow yourself")
    target = person(target_id)
    with user_shard(follower_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(follower_id)
        blocked = _blocked_between(follower_id, target_id)
        if blocked == "you":
            raise ActionNotAllowed("unblock this user before following them")
        if blocked == "them":
            raise UserNotFound("this user does not exist")
        edge = Following.objects.filter(user_id=follower_id, target_id=target_id).first()
        if edge is not None:
            return edge.status
        status = EdgeStatus.REQUESTED if target.is_private else EdgeStatus.ACTIVE
        Following.objects.create(user_id=follower_id, target_id=target_id, status=status)
        if status == EdgeStatus.ACTIVE:
            bump(follower_id, follows=1)
        _enqueue(OutboxKind.FOLLOW, follower_id, target_id, shard.alias)
        return status


def unfollow(*, follower_id: int, target_id: int) -> None:
    """Stop following an account, or withdraw a request; a no-op when there is no edge."""
    with user_shard(follower_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(follower_id)
        following_drop(follower_id, target_id, shard.alias)


def following_drop(follower_id: int, target_id: int, alias: str) -> bool:
    """Delete a follow edge; return whether there was one.

    Precondition: a transaction on the follower's shard holds ``locked_counts(follower_id)``.
    """
    edge = Following.objects.filter(user_id=follower_id, target_id=target_id).first()
    if edge is None:
        return False
    edge.delete()
    if edge.status == EdgeStatus.ACTIVE:
        bump(follower_id, follows=-1)
    _enqueue(OutboxKind.FOLLOW, follower_id, target_id, alias)
    return True


def approve(*, owner_id: int, requester_id: int) -> None:
    """Accept a pending follow request made to the owner's private account."""
    _answer_request(owner_id=owner_id, requester_id=requester_id, accept=True)


def ignore(*, owner_id: int, requester_id: int) -> None:
    """Turn down a pending follow request made to the owner's account."""
    _answer_request(owner_id=owner_id, requester_id=requester_id, accept=False)


def _answer_request(*, owner_id: int, requester_id: int, accept: bool) -> None:
    # The request's primary row lives on the requester's shard, so the answer is written there.
    with user_shard(requester_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(requester_id)
        edge = (
            Following.objects.filter(user_id=requester_id, target_id=owner_id)
            .select_for_update()
            .first()
        )
        if edge is None or edge.status != EdgeStatus.REQUESTED:
            raise ActionNotAllowed("there is no pending request from this user")
        if accept:
            edge.status = EdgeStatus.ACTIVE
            edge.save(update_fields=["status"])
            bump(requester_id, follows=1)
        else:
            edge.delete()
        _enqueue(OutboxKind.FOLLOW, requester_id, owner_id, shard.alias)


def block(*, blocker_id: int, target_id: int) -> None:
    """Block an account: follow edges both ways go, and each is hidden from the other."""
    if blocker_id == target_id:
        raise ActionNotAllowed("you cannot block yourself")
    person(target_id)
    with user_shard(blocker_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(blocker_id)
        _, created = Block.objects.get_or_create(user_id=blocker_id, target_id=target_id)
        following_drop(blocker_id, target_id, shard.alias)
        if created:
            # The mirror on the target's shard also drops the target's edge to the blocker.
            _enqueue(OutboxKind.BLOCK, blocker_id, target_id, shard.alias)


def unblock(*, blocker_id: int, target_id: int) -> None:
    """Lift a block; follow edges are not restored."""
    with user_shard(blocker_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(blocker_id)
        deleted, _ = Block.objects.filter(user_id=blocker_id, target_id=target_id).delete()
        if deleted:
            _enqueue(OutboxKind.BLOCK, blocker_id, target_id, shard.alias)


def relationship_act(*, actor_id: int, target_id: int, action: str) -> None:
    """Apply one of the v1 relationship actions by the actor on the target."""
    if action == "follow":
        follow(follower_id=actor_id, target_id=target_id)
    elif action == "unfollow":
        unfollow(follower_id=actor_id, target_id=target_id)
    elif action == "block":
        block(blocker_id=actor_id, target_id=target_id)
    elif action == "unblock":
        unblock(blocker_id=actor_id, target_id=target_id)
    elif action == "approve":
        approve(owner_id=actor_id, requester_id=target_id)
    elif action == "ignore":
        ignore(owner_id=actor_id, requester_id=target_id)
    else:
        raise ActionNotAllowed(f"action must be one of: {', '.join(ACTIONS)}")


def requests_approve_all(*, owner_id: int) -> int:
    """Accept every pending request to an account (it just became public); return how many."""
    from accounts.selectors.graph import followers_page

    approved = 0
    while True:
        pending = followers_page(
            user_id=owner_id, count=100, max_id=None, status=EdgeStatus.REQUESTED
        )
        if not pending:
            return approved
        for _, requester_id in pending:
            try:
                approve(owner_id=owner_id, requester_id=requester_id)
                approved += 1
            except ActionNotAllowed:
                # Withdrawn meanwhile; reconcile the stale mirror so the loop moves on.
                from accounts.services.outbox import reconcile_follow

                reconcile_follow(follower_id=requester_id, target_id=owner_id)
