"""Feed test helpers: photo rows made directly on their owner's shard, feeds dropped after."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from accounts.models import User
from feeds import store
from instaclone.sharding.connections import user_shard
from photos.models import Photo
from photos.storage import media_prefix


def _post_row(owner: User, caption: str = "") -> int:
    """Insert a photo row for ``owner`` (no image, no events) and return its ID."""
    with user_shard(owner.id):
        photo = Photo.objects.create(user_id=owner.id, caption=caption)
        Photo.objects.filter(id=photo.id).update(media_key=media_prefix(photo.id))
    return photo.id


@pytest.fixture
def post_row() -> Callable[..., int]:
    """Return a maker of bare photo rows (the feed code reads nothing else)."""
    return _post_row


@pytest.fixture
def edge() -> Callable[[int, int], None]:
    """Return a maker of approved follow edges, primary and mirror, without events.

    Both rows are written directly: reconciling the mirror would emit ``follow.changed``, and the
    worker's backfill could then fill a feed whatever the code under test did.
    """
    from accounts.models import Follower, Following
    from accounts.models.graph import EdgeStatus

    def make(follower_id: int, target_id: int) -> None:
        with user_shard(follower_id):
            Following.objects.get_or_create(
                user_id=follower_id, target_id=target_id, defaults={"status": EdgeStatus.ACTIVE}
            )
        with user_shard(target_id):
            Follower.objects.get_or_create(
                user_id=target_id, follower_id=follower_id, defaults={"status": EdgeStatus.ACTIVE}
            )

    return make


@pytest.fixture
def people(make_user) -> Iterator[Callable[..., list[User]]]:  # type: ignore[no-untyped-def]
    """Return a maker of users whose stored feeds are deleted after the test."""
    made: list[User] = []

    def make(count: int, **options: object) -> list[User]:
        users = [make_user(**options) for _ in range(count)]
        made.extend(users)
        return users

    yield make
    for user in made:
        store.feed_forget(user.id)


def _jobs_settle(timeout: float = 15.0) -> None:
    """Wait until the test stack's worker has taken and finished every job that is due."""
    import time

    import redis
    from django.conf import settings

    from tests.worker_queue import jobs_due

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if jobs_due(broker) == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the worker did not finish its jobs in time")


@pytest.fixture
def jobs_settle() -> Callable[[], None]:
    """Return a waiter for the worker's queue to empty (jobs enqueued by the code under test)."""
    return _jobs_settle


@pytest.fixture
def reader_of(people, post_row, edge) -> Callable[[int], User]:  # type: ignore[no-untyped-def]
    """Return a maker of a reader following ``n`` people, two of whom posted three photos each,
    every photo liked and commented on by the last followee."""
    from photos.services import comments, likes

    def make(followees: int) -> User:
        (viewer,) = people(1)
        friends = people(followees)
        for friend in friends:
            edge(viewer.id, friend.id)
        for friend in friends[:2]:
            for _ in range(3):
                photo = post_row(friend)
                likes.like(user_id=friends[-1].id, photo_id=photo)
                comments.comment_create(user_id=friends[-1].id, photo_id=photo, text="x")
        return viewer

    return make
