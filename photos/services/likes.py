"""Like and unlike: the like on the photo owner's shard, the liker's list on the liker's shard.

The like row, the photo's exact count and an outbox row are written in one transaction on the
owner's shard; the liker's ``Liked`` row is then reconciled from the like as it is now, under the
liker's counts lock, so repeats and reorderings end in agreement (DESIGN.md section 3).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, transaction
from django.db.models import F

from accounts.services.graph import locked_counts
from instaclone.sharding.connections import photo_shard, user_shard
from photos.models import Like, Liked, LikeOutbox, Photo
from photos.selectors.entries import liked_forget, photos_forget

logger = logging.getLogger(__name__)


class PhotoNotFound(LookupError):
    """The photo does not exist (or has been deleted)."""


def _locked_photo(photo_id: int) -> Photo:
    photo = Photo.objects.select_for_update().filter(id=photo_id).first()
    if photo is None:
        raise PhotoNotFound("this photo does not exist")
    return photo


def like(*, user_id: int, photo_id: int) -> int:
    """Like a photo (again is a no-op); return its like count."""
    with photo_shard(photo_id) as shard, transaction.atomic(using=shard.alias):
        photo = _locked_photo(photo_id)
        _, created = Like.objects.get_or_create(photo_id=photo_id, user_id=user_id)
        if created:
            Photo.objects.filter(id=photo_id).update(like_count=F("like_count") + 1)
            _enqueue(photo_id, user_id, shard.alias)
            return photo.like_count + 1
        return photo.like_count


def unlike(*, user_id: int, photo_id: int) -> int:
    """Take a like back (none is a no-op); return the like count."""
    with photo_shard(photo_id) as shard, transaction.atomic(using=shard.alias):
        photo = _locked_photo(photo_id)
        deleted, _ = Like.objects.filter(photo_id=photo_id, user_id=user_id).delete()
        if deleted:
            Photo.objects.filter(id=photo_id).update(like_count=F("like_count") - 1)
            _enqueue(photo_id, user_id, shard.alias)
            return photo.like_count - 1
        return photo.like_count


def _enqueue(photo_id: int, user_id: int, alias: str) -> None:
    photos_forget([photo_id], using=alias)
    liked_forget(user_id=user_id, photo_id=photo_id, using=alias)
    LikeOutbox.objects.create(photo_id=photo_id, user_id=user_id)
    transaction.on_commit(lambda: like_outbox_drain(photo_id=photo_id), using=alias)


def reconcile_liked(*, photo_id: int, user_id: int) -> None:
    """Make the liker's ``Liked`` row match the like on the owner's shard."""
    with user_shard(user_id) as shard, transaction.atomic(using=shard.alias):
        locked_counts(user_id)
        with photo_shard(photo_id):
            owner_id = Photo.objects.filter(id=photo_id).values_list("user_id", flat=True).first()
            liked = Like.objects.filter(photo_id=photo_id, user_id=user_id).exists()
        if liked and owner_id is not None:
            Liked.objects.get_or_create(
                user_id=user_id, photo_id=photo_id, defaults={"owner_id": owner_id}
            )
        else:
            Liked.objects.filter(user_id=user_id, photo_id=photo_id).delete()


def like_outbox_drain(*, photo_id: int) -> tuple[int, int]:
    """Reconcile the pending likes of a photo; failures stay for the worker's next pass."""
    done = failed = 0
    with photo_shard(photo_id):
        rows = list(
            LikeOutbox.objects.filter(photo_id=photo_id)
            .order_by("id")
            .values_list("id", "photo_id", "user_id")
        )
        for row_id, pid, user_id in rows:
            try:
                reconcile_liked(photo_id=pid, user_id=user_id)
            except DatabaseError as exc:
                failed += 1
                logger.warning("like outbox %s by %s failed: %s", pid, user_id, exc)
                LikeOutbox.objects.filter(id=row_id).update(
                    attempts=F("attempts") + 1, last_error=str(exc)[:2000]
                )
                continue
            LikeOutbox.objects.filter(id=row_id).delete()
            done += 1
    return done, failed
