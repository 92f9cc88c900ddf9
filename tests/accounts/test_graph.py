"""The follow graph: both shards agree and counts are exact after any sequence of actions."""

from __future__ import annotations

import random
import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from accounts.models import Block, BlockedBy, Follower, GraphCounts, GraphOutbox
from accounts.selectors.graph import Access, access, followers_page, relationship, user_counts
from accounts.services import graph
from accounts.services.graph_check import graph_check
from accounts.services.outbox import outbox_drain_shard
from instaclone.sharding.connections import shard_for_user, target_for_shard, user_shard


def _outbox(user_id: int) -> int:
    with user_shard(user_id):
        return GraphOutbox.objects.filter(user_id=user_id).count()


def _two_servers(make_user):  # type: ignore[no-untyped-def]
    """Return two users whose shards sit on different servers."""
    first = make_user()
    while True:
        second = make_user()
        if (shard_for_user(first.id) < 32) != (shard_for_user(second.id) < 32):
            return first, second


def test_follow_public_account_writes_both_shards(make_user, edges) -> None:  # type: ignore[no-untyped-def]
    alice, bob = _two_servers(make_user)
    assert graph.follow(follower_id=alice.id, target_id=bob.id) == "active"
    assert edges(alice.id, bob.id) == ("active", "active")
    assert user_counts(user_id=alice.id) == {"media": 0, "follows": 1, "followed_by": 0}
    assert user_counts(user_id=bob.id) == {"media": 0, "follows": 0, "followed_by": 1}
    assert _outbox(alice.id) == 0
    # Following again changes nothing.
    assert graph.follow(follower_id=alice.id, target_id=bob.id) == "active"
    assert user_counts(user_id=bob.id)["followed_by"] == 1

    graph.unfollow(follower_id=alice.id, target_id=bob.id)
    assert edges(alice.id, bob.id) == (None, None)
    assert user_counts(user_id=alice.id)["follows"] == 0
    assert user_counts(user_id=bob.id)["followed_by"] == 0


def test_private_account_turns_a_follow_into_a_request(make_user, edges) -> None:  # type: ignore[no-untyped-def]
    fan = make_user()
    star = make_user(private=True)
    assert graph.follow(follower_id=fan.id, target_id=star.id) == "requested"
    assert edges(fan.id, star.id) == ("requested", "requested")
    assert user_counts(user_id=star.id)["followed_by"] == 0
    pending = followers_page(user_id=star.id, count=10, max_id=None, status="requested")
    assert [follower for _, follower in pending] == [fan.id]
    assert access(viewer_id=fan.id, owner_id=star.id, owner_is_private=True).content is False

    graph.approve(owner_id=star.id, requester_id=fan.id)
    assert edges(fan.id, star.id) == ("active", "active")
    assert user_counts(user_id=star.id)["followed_by"] == 1
    assert user_counts(user_id=fan.id)["follows"] == 1
    assert access(viewer_id=fan.id, owner_id=star.id, owner_is_private=True).content is True
    with pytest.raises(graph.ActionNotAllowed, match="there is no pending request from this user"):
        graph.approve(owner_id=star.id, requester_id=fan.id)


def test_ignored_request_disappears_on_both_shards(make_user, edges) -> None:  # type: ignore[no-untyped-def]
    fan = make_user()
    star = make_user(private=True)
    graph.follow(follower_id=fan.id, target_id=star.id)
    graph.ignore(owner_id=star.id, requester_id=fan.id)
    assert edges(fan.id, star.id) == (None, None)
    assert user_counts(user_id=fan.id)["follows"] == 0


def test_block_removes_edges_both_ways_and_hides_each_from_the_other(make_user, edges) -> None:  # type: ignore[no-untyped-def]
    alice, bob = _two_servers(make_user)
    graph.follow(follower_id=alice.id, target_id=bob.id)
    graph.follow(follower_id=bob.id, target_id=alice.id)
    graph.block(blocker_id=alice.id, target_id=bob.id)

    assert edges(alice.id, bob.id) == (None, None)
    assert edges(bob.id, alice.id) == (None, None)
    for user in (alice, bob):
        assert user_counts(user_id=user.id) == {"media": 0, "follows": 0, "followed_by": 0}
    with user_shard(bob.id):
        assert BlockedBy.objects.filter(user_id=bob.id, blocker_id=alice.id).exists()
    assert access(viewer_id=bob.id, owner_id=alice.id, owner_is_private=False).profile is False
    assert access(viewer_id=alice.id, owner_id=bob.id, owner_is_private=False) == Access(
        profile=True, content=False
    )
    with pytest.raises(graph.UserNotFound, match="this user does not exist"):
        graph.follow(follower_id=bob.id, target_id=alice.id)
    with pytest.raises(graph.ActionNotAllowed, match="unblock this user before following them"):
        graph.follow(follower_id=alice.id, target_id=bob.id)
    seen = relationship(viewer_id=alice.id, target_id=bob.id, target_is_private=False)
    assert (seen.outgoing_status, seen.incoming_status) == ("none", "blocked_by_you")

    graph.unblock(blocker_id=alice.id, target_id=bob.id)
    with user_shard(bob.id):
        assert not BlockedBy.objects.filter(user_id=bob.id, blocker_id=alice.id).exists()
    assert edges(alice.id, bob.id) == (None, None)  # unblocking restores no edge
    assert graph.follow(follower_id=bob.id, target_id=alice.id) == "active"


def test_bad_targets_are_refused(make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user()
    gone = make_user(active=False)
    with pytest.raises(graph.ActionNotAllowed, match="you cannot follow yourself"):
        graph.follow(follower_id=alice.id, target_id=alice.id)
    with pytest.raises(graph.UserNotFound):
        graph.follow(follower_id=alice.id, target_id=gone.id)
    with pytest.raises(graph.UserNotFound):
        graph.follow(follower_id=alice.id, target_id=10**15)
    with pytest.raises(graph.ActionNotAllowed, match="you cannot block yourself"):
        graph.block(blocker_id=alice.id, target_id=alice.id)
    with pytest.raises(graph.ActionNotAllowed, match="action must be one of: follow, unfollow"):
        graph.relationship_act(actor_id=alice.id, target_id=gone.id, action="poke")


def test_failed_mirror_write_stays_in_the_outbox_and_is_retried(make_user, edges) -> None:  # type: ignore[no-untyped-def]
    alice, bob = _two_servers(make_user)
    bob_alias = target_for_shard(shard_for_user(bob.id)).alias
    holder = connections.create_connection(bob_alias)
    try:
        # Another session holds Bob's counts row, so the mirror write times out.
        holder.set_autocommit(False)
        with holder.cursor() as cursor:
            cursor.execute(f"SET search_path TO shard_{shard_for_user(bob.id):04d}")
            cursor.execute(
                "INSERT INTO accounts_graphcounts (user_id, media, follows, followed_by) "
                "VALUES (%s, 0, 0, 0) ON CONFLICT DO NOTHING",
                [bob.id],
            )
            holder.commit()
            cursor.execute(
                "SELECT 1 FROM accounts_graphcounts WHERE user_id = %s FOR UPDATE", [bob.id]
            )
        with connections[bob_alias].cursor() as cursor:
            cursor.execute("SET statement_timeout = 300")
        graph.follow(follower_id=alice.id, target_id=bob.id)
        assert edges(alice.id, bob.id) == ("active", None)
        with user_shard(alice.id):
            row = GraphOutbox.objects.get(user_id=alice.id)
        assert row.attempts == 1
        assert "canceling statement due to statement timeout" in row.last_error
    finally:
        holder.rollback()
        holder.close()
        with connections[bob_alias].cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    # The failure scheduled a drain on the test stack's worker, due 2 s later (4 s more if it
    # ran while the row was still locked): wait for its effect, not for a fixed time.
    deadline = time.monotonic() + 30
    while (_outbox(alice.id), edges(alice.id, bob.id)) != (0, ("active", "active")):
        assert time.monotonic() < deadline, (
            f"the worker did not retry: outbox {_outbox(alice.id)}, edge {edges(alice.id, bob.id)}"
        )
        time.sleep(0.1)
    assert user_counts(user_id=bob.id)["followed_by"] == 1
    # Draining again finds nothing to do.
    assert outbox_drain_shard(shard=shard_for_user(alice.id)) == (0, 0)


def test_same_pair_following_and_unfollowing_500_times_from_threads_stays_consistent(  # type: ignore[no-untyped-def]
    make_user, edges
) -> None:
    alice, bob = _two_servers(make_user)
    rng = random.Random(11)
    plans = [[rng.choice(("follow", "unfollow")) for _ in range(125)] for _ in range(4)]
    errors: list[BaseException] = []

    def worker(plan: list[str]) -> None:
        try:
            for action in plan:
                graph.relationship_act(actor_id=alice.id, target_id=bob.id, action=action)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            for alias in connections:
                connections[alias].close()

    threads = [threading.Thread(target=worker, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    primary, mirror = edges(alice.id, bob.id)
    assert primary == mirror
    expected = 1 if primary == "active" else 0
    assert user_counts(user_id=alice.id)["follows"] == expected
    assert user_counts(user_id=bob.id)["followed_by"] == expected
    assert _outbox(alice.id) == 0
    report = graph_check()
    assert not ({alice.id, bob.id} & report.count_mismatches)
    assert (alice.id, bob.id) not in report.follow_mismatches


def test_checker_finds_and_repairs_disagreements(make_user, edges) -> None:  # type: ignore[no-untyped-def]
    alice, bob = _two_servers(make_user)
    carol = make_user()
    graph.follow(follower_id=alice.id, target_id=bob.id)
    graph.follow(follower_id=carol.id, target_id=bob.id)
    graph.block(blocker_id=carol.id, target_id=alice.id)
    # Damage: a lost mirror, a stray mirror, a lost block mirror, a wrong count.
    with user_shard(bob.id):
        Follower.objects.filter(user_id=bob.id, follower_id=alice.id).delete()
        Follower.objects.create(user_id=bob.id, follower_id=alice.id + 10**9, status="active")
    with user_shard(alice.id):
        BlockedBy.objects.filter(user_id=alice.id, blocker_id=carol.id).delete()
    with user_shard(carol.id):
        GraphCounts.objects.filter(user_id=carol.id).update(follows=7)

    out = StringIO()
    with pytest.raises(CommandError, match="follow graph disagrees; run with --repair"):
        call_command("graph_check", stdout=out)
    text = out.getvalue()
    assert f"follow {alice.id} -> {bob.id}: sides disagree" in text
    assert f"follow {alice.id + 10**9} -> {bob.id}: sides disagree" in text
    assert f"block {carol.id} -> {alice.id}: sides disagree" in text
    assert f"user {carol.id}: counts do not match the rows" in text

    out = StringIO()
    call_command("graph_check", "--repair", stdout=out)
    assert out.getvalue().strip().endswith("follow graph repaired")
    assert edges(alice.id, bob.id) == ("active", "active")
    with user_shard(bob.id):
        assert not Follower.objects.filter(follower_id=alice.id + 10**9).exists()
    with user_shard(alice.id):
        assert BlockedBy.objects.filter(user_id=alice.id, blocker_id=carol.id).exists()
    assert user_counts(user_id=carol.id)["follows"] == 1
    assert user_counts(user_id=bob.id)["followed_by"] == 2
    assert graph_check().clean
    with user_shard(alice.id + 10**9):
        GraphCounts.objects.filter(user_id=alice.id + 10**9).delete()


def test_block_rows_are_on_the_blockers_shard(make_user) -> None:  # type: ignore[no-untyped-def]
    alice, bob = _two_servers(make_user)
    graph.block(blocker_id=alice.id, target_id=bob.id)
    with user_shard(alice.id):
        assert Block.objects.filter(user_id=alice.id, target_id=bob.id).exists()
    with user_shard(bob.id):
        assert not Block.objects.filter(user_id=alice.id).exists()


def test_going_public_approves_pending_requests(make_user, edges) -> None:  # type: ignore[no-untyped-def]
    star = make_user(private=True)
    fans = [make_user() for _ in range(3)]
    for fan in fans:
        graph.follow(follower_id=fan.id, target_id=star.id)
    assert graph.requests_approve_all(owner_id=star.id) == 3
    assert {edges(fan.id, star.id) for fan in fans} == {("active", "active")}
    assert user_counts(user_id=star.id)["followed_by"] == 3
    assert graph.requests_approve_all(owner_id=star.id) == 0


def test_switching_to_public_in_the_profile_approves_requests(make_user, edges) -> None:  # type: ignore[no-untyped-def]
    from accounts.services.users import user_update_profile

    star, fan = make_user(private=True), make_user()
    graph.follow(follower_id=fan.id, target_id=star.id)
    user_update_profile(user_id=star.id, is_private=False)
    assert edges(fan.id, star.id) == ("active", "active")
