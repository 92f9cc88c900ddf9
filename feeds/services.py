"""Keep stored feeds in step with what happened: posts, deletes, follows. Every job is idempotent.

Each function makes the feeds match the databases as they are now, so running one twice, late
or out of order ends in the same state.
"""

from __future__ import annotations

from django.conf import settings

from accounts.models import Follower, Following
from accounts.models.graph import EdgeStatus
from feeds import store
from feeds.selectors import recent_photos_of
from instaclone.sharding.connections import user_shard
from photos.models import Photo


def followers_batch(owner_id: int, *, after: int, limit: int) -> list[int]:
    """Return up to ``limit`` approved followers of an owner with IDs above ``after``."""
    with user_shard(owner_id):
        return list(
            Follower.objects.filter(
                user_id=owner_id, status=EdgeStatus.ACTIVE, follower_id__gt=after
            )
            .order_by("follower_id")
            .values_list("follower_id", flat=True)[:limit]
        )


def photo_fanout(*, photo_id: int, owner_id: int, after: int = 0) -> int | None:
    """Add a photo to its owner's feed and one batch of followers' feeds.

    Returns the last follower written when more may follow (the caller continues from there),
    or None when the fan-out is complete. A photo already deleted is not fanned out.
    """
    with user_shard(owner_id):
        if not Photo.objects.filter(id=photo_id, user_id=owner_id).exists():
            return None
    batch_size = settings.FEED_FANOUT_BATCH
    followers = followers_batch(owner_id, after=after, limit=batch_size)
    readers = [owner_id, *followers] if after == 0 else followers
    store.feeds_add(readers, photo_id=photo_id, owner_id=owner_id)
    return followers[-1] if len(followers) == batch_size else None


def photo_unfan(*, photo_id: int, owner_id: int, after: int = 0) -> int | None:
    """Drop a deleted photo from its owner's feed and one batch of followers' feeds."""
    batch_size = settings.FEED_FANOUT_BATCH
    followers = followers_batch(owner_id, after=after, limit=batch_size)
    readers = [owner_id, *followers] if after == 0 else followers
    store.feeds_drop_photo(readers, photo_id=photo_id, owner_id=owner_id)
    return followers[-1] if len(followers) == batch_size else None


def follow_sync(*, follower_id: int, target_id: int) -> None:
    """Make a follower's feed match the edge: the target's photos in it, or out of it."""
    if follower_id == target_id:
        return  # one's own photos are always in one's feed
    with user_shard(follower_id):
        status = (
            Following.objects.filter(user_id=follower_id, target_id=target_id)
            .values_list("status", flat=True)
            .first()
        )
    if status == EdgeStatus.ACTIVE:
        store.feed_backfill(follower_id, recent_photos_of([target_id], limit=settings.FEED_SIZE))
    else:
        store.feed_drop_owner(follower_id, target_id)
