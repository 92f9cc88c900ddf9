"""Check that both sides of every edge agree and every count matches its rows; repair if asked."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from accounts.models import Follower, Following, GraphCounts
from accounts.models.graph import EdgeStatus
from accounts.services.graph import locked_counts
from accounts.services.outbox import reconcile_block, reconcile_follow
from instaclone.sharding.connections import query_shards, user_shard
from instaclone.sharding.topology import current_topology


@dataclass
class GraphReport:
    """What the check found (and repaired)."""

    follow_mismatches: set[tuple[int, int]] = field(default_factory=set)
    block_mismatches: set[tuple[int, int]] = field(default_factory=set)
    count_mismatches: set[int] = field(default_factory=set)
    repaired: bool = False

    @property
    def clean(self) -> bool:
        """Tell whether nothing disagreed."""
        return not (self.follow_mismatches or self.block_mismatches or self.count_mismatches)


def _all_shards(sql: str) -> list[tuple[int, ...]]:
    shards = range(current_topology().logical_shards)
    return query_shards(sql, {shard: [] for shard in shards})


def graph_check(*, repair: bool = False) -> GraphReport:
    """Compare primaries with mirrors and counts with rows over every shard.

    One read per physical server for each table. With ``repair``, each disagreeing edge is
    reconciled from its primary row and each wrong count recomputed under its owner's lock.
    """
    following = {
        (a, b): s
        for a, b, s in _all_shards(
            "SELECT user_id, target_id, status FROM {schema}.accounts_following"
        )
    }
    followers = {
        (a, b): s
        for b, a, s in _all_shards(
            "SELECT user_id, follower_id, status FROM {schema}.accounts_follower"
        )
    }
    blocks = set(_all_shards("SELECT user_id, target_id FROM {schema}.accounts_block"))
    blocked_by = {
        (a, b)
        for b, a in _all_shards("SELECT user_id, blocker_id FROM {schema}.accounts_blockedby")
    }
    stored = {
        row[0]: row[1:]
        for row in _all_shards(
            "SELECT user_id, follows, followed_by FROM {schema}.accounts_graphcounts"
        )
    }
    report = GraphReport()
    report.follow_mismatches = {
        pair
        for pair in following.keys() | followers.keys()
        if following.get(pair) != followers.get(pair)
    }
    report.block_mismatches = blocks ^ blocked_by
    follows = Counter(a for (a, _), s in following.items() if s == EdgeStatus.ACTIVE)
    followed_by = Counter(b for (_, b), s in following.items() if s == EdgeStatus.ACTIVE)
    for user_id in stored.keys() | follows.keys() | followed_by.keys():
        if stored.get(user_id, (0, 0)) != (follows[user_id], followed_by[user_id]):
            report.count_mismatches.add(user_id)
    if repair and not report.clean:
        _repair(report)
    return report


def _repair(report: GraphReport) -> None:
    for follower_id, target_id in sorted(report.follow_mismatches):
        reconcile_follow(follower_id=follower_id, target_id=target_id)
    for blocker_id, target_id in sorted(report.block_mismatches):
        reconcile_block(blocker_id=blocker_id, target_id=target_id)
    users = report.count_mismatches | {u for pair in report.follow_mismatches for u in pair}
    for user_id in sorted(users):
        recount(user_id=user_id)
    report.repaired = True


def recount(*, user_id: int) -> None:
    """Recompute a user's follow counts from the rows on their shard, under their lock."""
    with user_shard(user_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(user_id)
        GraphCounts.objects.filter(user_id=user_id).update(
            follows=Following.objects.filter(user_id=user_id, status=EdgeStatus.ACTIVE).count(),
            followed_by=Follower.objects.filter(user_id=user_id, status=EdgeStatus.ACTIVE).count(),
        )
