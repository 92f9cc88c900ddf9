"""Durable events: written with the change, relayed after it, swept when the relay failed.

The fault is real: this process's broker client talks to a port that accepts and never
answers, so the job is not taken at commit time, as with a broker that is down or cut off.
The stack's own beat sweeps too; rows a test sweeps itself are moved an hour ahead so that
only the test's sweep, given a clock two hours ahead, can take them.
"""

from __future__ import annotations

import io
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone
from PIL import Image

from accounts.models import Following
from accounts.models.graph import EdgeStatus
from accounts.services.outbox import reconcile_follow
from feeds import store
from feeds.selectors import home_feed_entries
from feeds.services import photo_fanout
from instaclone.events import event_emit
from instaclone.events.models import Event, ShardEvent
from instaclone.events.sweep import events_sweep
from instaclone.sharding.connections import use_shard, user_shard
from instaclone.sharding.idmap import photo_owner
from instaclone.sharding.topology import current_topology
from photos.models import Photo, Tag, TagMedia
from photos.services.comments import photo_delete
from photos.services.upload import photo_create, photo_index
from tests.worker_queue import jobs_settle

LATER = timedelta(hours=2)


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 120, 40)).save(out, "JPEG", quality=90)
    return out.getvalue()


@contextmanager
def _broker_unreachable() -> Iterator[None]:
    """Point this process's Celery client at a port that accepts and never answers.

    The worker and its beat keep the real broker. Celery reads the write URL when it builds
    its connection pool, so the pool is dropped on the way in and out (kombu keeps one pool
    per URL, so the real broker's comes back as it was).
    """
    from instaclone.celery import app

    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    saved = app.conf.broker_write_url

    def point(url: str) -> None:
        app.conf.broker_write_url = url
        app._pool = None
        app.amqp._producer_pool = None

    point(f"redis://127.0.0.1:{hole.getsockname()[1]}/1")
    try:
        yield
    finally:
        point(saved)
        hole.close()


def _pending(owner_id: int, photo_id: int) -> list[int]:
    """Return the IDs of the pending events about a photo, on its owner's shard."""
    with user_shard(owner_id):
        rows = ShardEvent.objects.filter(payload__photo_id=photo_id).order_by("id")
        return list(rows.values_list("id", flat=True))


def _hold_from_the_stack(model: type[Event] | type[ShardEvent], ids: list[int]) -> None:
    """Date rows an hour ahead: the stack's beat leaves them to the test's own sweep."""
    ahead = timezone.now() + timedelta(hours=1)
    model.objects.filter(id__in=ids).update(created_at=ahead)


def _follower_with_a_feed(make_user, author_id: int):  # type: ignore[no-untyped-def]
    """Return a user following ``author_id`` whose feed is stored (so only a fan-out fills it)."""
    reader = make_user(name="reader")
    with user_shard(reader.id):
        Following.objects.create(user_id=reader.id, target_id=author_id, status=EdgeStatus.ACTIVE)
    reconcile_follow(follower_id=reader.id, target_id=author_id)
    jobs_settle()  # the follow's backfill would cancel installing the feed built below
    assert home_feed_entries(user_id=reader.id, count=10) == []
    assert store.feed_floor(reader.id) is not None
    return reader


def _tag_page(tag: str) -> list[str]:
    response = Client().get(f"/v1/tags/{tag}/media/recent")
    assert response.status_code == 200, response.content
    return [media["id"] for media in response.json()["data"]]


@pytest.fixture
def feeds_forgotten() -> Iterator[list[int]]:
    """Collect users whose stored feeds go after the test."""
    users: list[int] = []
    yield users
    for user_id in users:
        store.feed_forget(user_id)


def test_a_post_the_broker_refused_at_commit_reaches_feed_tag_page_and_map(
    make_user, feeds_forgotten
) -> None:  # type: ignore[no-untyped-def]
    tag = f"t{secrets.token_hex(6)}"
    author = make_user(name="author")
    reader = _follower_with_a_feed(make_user, author.id)
    feeds_forgotten.extend([author.id, reader.id])
    key = secrets.token_hex(8)

    with _broker_unreachable():
        posted = photo_create(
            user_id=author.id, data=_jpeg(), caption=f"#{tag}", idempotency_key=key
        )
    assert posted.created is True
    photo_id = posted.photo_id
    pending = _pending(author.id, photo_id)
    assert len(pending) == 1
    with user_shard(author.id):
        _hold_from_the_stack(ShardEvent, pending)
        assert Photo.objects.filter(id=photo_id).exists()  # the commit stands
    # Nothing was sent: no feed entry, no tag row, no map entry.
    assert store.feed_members(reader.id) == []
    assert not TagMedia.objects.filter(photo_id=photo_id).exists()
    assert photo_owner(photo_id) is None

    # The client retries with its key: the first photo comes back, its event still pending.
    again = photo_create(user_id=author.id, data=_jpeg(), caption=f"#{tag}", idempotency_key=key)
    assert (again.photo_id, again.created) == (photo_id, False)
    assert _pending(author.id, photo_id) == pending

    report = events_sweep(grace_seconds=0, limit=1000, now=timezone.now() + LATER)
    shard = str(author.id % current_topology().logical_shards)
    assert (shard, pending[0]) in report.sent
    assert report.failed is False
    assert _pending(author.id, photo_id) == []
    jobs_settle()
    assert store.feed_members(reader.id) == [(photo_id, author.id)]
    assert _tag_page(tag) == [f"{photo_id}_{author.id}"]
    assert Tag.objects.get(name=tag).media_count == 1
    assert photo_owner(photo_id) == author.id


def test_a_hook_that_raises_before_the_relay_loses_no_post(make_user, feeds_forgotten) -> None:  # type: ignore[no-untyped-def]
    tag = f"t{secrets.token_hex(6)}"
    author = make_user(name="author")
    reader = _follower_with_a_feed(make_user, author.id)
    feeds_forgotten.extend([author.id, reader.id])
    ran_after: list[str] = []

    def fails() -> None:
        raise RuntimeError("a hook that fails")

    # Django drops the hooks after one that raises: the relay of the post below is dropped.
    with pytest.raises(RuntimeError, match="a hook that fails"):
        with user_shard(author.id) as shard, transaction.atomic(using=shard.alias):
            transaction.on_commit(fails, using=shard.alias)
            posted = photo_create(user_id=author.id, data=_jpeg(), caption=f"#{tag}")
            transaction.on_commit(lambda: ran_after.append("later hook"), using=shard.alias)
    assert ran_after == []
    pending = _pending(author.id, posted.photo_id)
    assert len(pending) == 1
    with user_shard(author.id):
        _hold_from_the_stack(ShardEvent, pending)
    assert store.feed_members(reader.id) == []

    events_sweep(grace_seconds=0, limit=1000, now=timezone.now() + LATER)
    jobs_settle()
    assert store.feed_members(reader.id) == [(posted.photo_id, author.id)]
    assert _tag_page(tag) == [f"{posted.photo_id}_{author.id}"]


def test_a_relay_that_fails_does_not_drop_the_hooks_after_it(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(name="user")
    ran_after: list[str] = []
    with _broker_unreachable():
        with user_shard(user.id) as shard, transaction.atomic(using=shard.alias):
            event_emit("follow.changed", using=shard.alias, follower_id=user.id, target_id=user.id)
            transaction.on_commit(lambda: ran_after.append("later hook"), using=shard.alias)
    assert ran_after == ["later hook"]
    with user_shard(user.id):
        rows = ShardEvent.objects.filter(name="follow.changed", payload__follower_id=user.id)
        assert rows.count() == 1
        rows.delete()


def test_sweeping_twice_sends_each_event_once(make_user) -> None:  # type: ignore[no-untyped-def]
    users = [make_user(name="u") for _ in range(2)]
    shards = [user.id % current_topology().logical_shards for user in users]
    made: list[tuple[str, int]] = []
    with _broker_unreachable():
        for user, shard in zip(users, shards, strict=True):
            with use_shard(shard) as target, transaction.atomic(using=target.alias):
                event_emit(
                    "follow.changed", using=target.alias, follower_id=user.id, target_id=user.id
                )
        with transaction.atomic(using="default"):
            event_emit("user.visibility_changed", using="default", user_id=users[0].id)
    for user, shard in zip(users, shards, strict=True):
        with use_shard(shard):
            ids = list(
                ShardEvent.objects.filter(payload__follower_id=user.id).values_list("id", flat=True)
            )
            _hold_from_the_stack(ShardEvent, ids)
            made.extend((str(shard), row_id) for row_id in ids)
    users_ids = list(
        Event.objects.filter(payload__user_id=users[0].id).values_list("id", flat=True)
    )
    _hold_from_the_stack(Event, users_ids)
    made.extend(("users", row_id) for row_id in users_ids)
    assert len(made) == 3

    first = events_sweep(grace_seconds=0, limit=1000, now=timezone.now() + LATER)
    second = events_sweep(grace_seconds=0, limit=1000, now=timezone.now() + LATER)
    assert sorted(set(made) & set(first.sent)) == sorted(made)
    assert set(made) & set(second.sent) == set()
    assert not Event.objects.filter(id__in=users_ids).exists()
    jobs_settle()


def test_the_sweep_is_bounded_per_run_and_oldest_first_per_database(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(name="u")
    shard = user.id % current_topology().logical_shards
    with _broker_unreachable():
        for _ in range(3):
            with use_shard(shard) as target, transaction.atomic(using=target.alias):
                event_emit(
                    "follow.changed", using=target.alias, follower_id=user.id, target_id=user.id
                )
    with use_shard(shard):
        ids = sorted(
            ShardEvent.objects.filter(payload__follower_id=user.id).values_list("id", flat=True)
        )
        _hold_from_the_stack(ShardEvent, ids)
    # Other pending rows may be due as well (the users database is swept first): each run
    # sends at most two, and these three go oldest first.
    taken: list[tuple[str, int]] = []
    held = [(str(shard), row_id) for row_id in ids]
    runs = 0
    while len(taken) < 3 and runs < 10:
        report = events_sweep(grace_seconds=0, limit=2, now=timezone.now() + LATER)
        assert len(report.sent) <= 2
        assert runs > 0 or len(report.sent) == 2
        taken.extend(sent for sent in report.sent if sent in held)
        runs += 1
    assert taken == held
    jobs_settle()


def test_an_event_is_written_in_the_changes_transaction(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(name="u")
    seen_elsewhere: list[bool] = []

    def look(row_id: int) -> None:
        # Another thread has its own connection: it sees only what was committed.
        try:
            with user_shard(user.id):
                seen_elsewhere.append(ShardEvent.objects.filter(id=row_id).exists())
        finally:
            connections.close_all()

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        with user_shard(user.id) as shard, transaction.atomic(using=shard.alias):
            event_emit("follow.changed", using=shard.alias, follower_id=user.id, target_id=1)
            (row_id,) = ShardEvent.objects.filter(payload__follower_id=user.id).values_list(
                "id", flat=True
            )
            thread = threading.Thread(target=look, args=(row_id,))
            thread.start()
            thread.join()
            raise Undo
    assert seen_elsewhere == [False]
    with user_shard(user.id):
        assert not ShardEvent.objects.filter(payload__follower_id=user.id).exists()

    with pytest.raises(Undo):
        with transaction.atomic(using="default"):
            event_emit("user.visibility_changed", using="default", user_id=user.id)
            assert Event.objects.filter(payload__user_id=user.id).count() == 1
            raise Undo
    assert not Event.objects.filter(payload__user_id=user.id).exists()


def test_an_event_outside_its_shard_context_or_unknown_is_refused(make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user(name="u")
    topology = current_topology()
    elsewhere = next(
        s
        for s in range(topology.logical_shards)
        if topology.server_for_shard(s)
        != topology.server_for_shard(user.id % topology.logical_shards)
    )
    with use_shard(elsewhere), pytest.raises(ValueError, match="emitted in the context of shard"):
        alias = topology.server_for_shard(user.id % topology.logical_shards)
        event_emit("follow.changed", using=alias, follower_id=user.id, target_id=1)
    with pytest.raises(KeyError, match="no EVENT_JOBS entry for event 'photo.liked'"):
        event_emit("photo.liked", using="default", photo_id=1)


def test_indexing_a_post_twice_counts_it_once_and_a_deleted_post_not_at_all(
    make_user, feeds_forgotten
) -> None:  # type: ignore[no-untyped-def]
    tag = f"t{secrets.token_hex(6)}"
    author = make_user(name="author")
    reader = _follower_with_a_feed(make_user, author.id)
    feeds_forgotten.extend([author.id, reader.id])
    with user_shard(author.id):
        kept = Photo.objects.create(user_id=author.id, caption=f"#{tag}", tags=[tag]).id
        gone = Photo.objects.create(user_id=author.id, caption=f"#{tag}", tags=[tag]).id
    for _ in range(2):  # each job of photo.posted, delivered twice
        assert photo_index(photo_id=kept, owner_id=author.id) is True
        assert photo_fanout(photo_id=kept, owner_id=author.id) is None
    assert Tag.objects.get(name=tag).media_count == 1
    assert list(TagMedia.objects.filter(tag=tag).values_list("photo_id", flat=True)) == [kept]
    assert photo_owner(kept) == author.id
    assert store.feed_members(reader.id) == [(kept, author.id)]

    photo_delete(user_id=author.id, photo_id=gone)
    assert photo_index(photo_id=gone, owner_id=author.id) is False  # a late delivery
    assert not TagMedia.objects.filter(photo_id=gone).exists()
    assert photo_owner(gone) is None
    assert Tag.objects.get(name=tag).media_count == 1
