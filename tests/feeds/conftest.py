"""Feed test helpers: photo rows made directly on their owner's shard, feeds dropped after."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from accounts.models import User
from accounts.services.outbox import reconcile_follow
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
    """Return a maker of approved follow edges, primary and mirror, without events."""
    from accounts.models import Following
    from accounts.models.graph import EdgeStatus

    def make(follower_id: int, target_id: int) -> None:
        with user_shard(follower_id):
            Following.objects.get_or_create(
                user_id=follower_id, target_id=target_id, defaults={"status": EdgeStatus.ACTIVE}
            )
        reconcile_follow(follower_id=follower_id, target_id=target_id)

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
