"""Reads of photos: who may see one, and v1's media object as plain data."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from accounts.selectors.cached import hidden_cached
from accounts.selectors.graph import access
from accounts.selectors.users import user_short
from instaclone.sharding.connections import photo_shard, user_shard
from instaclone.sharding.ids import decode_id
from photos.models import Comment, Like, Liked, Photo

LIKERS_SHOWN = 4
COMMENTS_SHOWN = 8


class MediaHidden(LookupError):
    """The photo does not exist, or the viewer may not know it does."""


class MediaNotAllowed(PermissionError):
    """The viewer knows the account but may not see its photos (private, not approved)."""


def visible_photo(*, photo_id: int, viewer_id: int | None) -> tuple[Photo, User]:
    """Return a photo and its owner if the viewer may see it; raise otherwise."""
    try:
        with photo_shard(photo_id):
            photo = Photo.objects.filter(id=photo_id).first()
    except LookupError as exc:
        raise MediaHidden("this photo does not exist") from exc
    owner = User.objects.filter(id=photo.user_id, is_active=True).first() if photo else None
    if photo is None or owner is None:
        raise MediaHidden("this photo does not exist")
    seen = access(viewer_id=viewer_id, owner_id=owner.id, owner_is_private=owner.is_private)
    if not seen.profile:
        raise MediaHidden("this photo does not exist")
    if not seen.content:
        raise MediaNotAllowed("you cannot view this resource")
    return photo, owner


def _time(object_id: int) -> str:
    return str(int(decode_id(object_id).created_at.timestamp()))


def comment_object(comment: Comment, author: User | None) -> dict[str, Any]:
    """Return v1's comment object."""
    return {
        "id": str(comment.id),
        "text": comment.text,
        "created_time": _time(comment.id),
        "from": user_short(author) if author else None,
    }


def user_photos_page(
    *, owner_id: int, count: int, max_id: int | None, min_id: int | None = None
) -> list[Photo]:
    """Return up to ``count`` of a user's photos, newest first."""
    with user_shard(owner_id):
        photos = Photo.objects.filter(user_id=owner_id)
        if max_id is not None:
            photos = photos.filter(id__lt=max_id)
        if min_id is not None:
            photos = photos.filter(id__gt=min_id)
        return list(photos.order_by("-id")[:count])


def liked_page(*, user_id: int, count: int, max_id: int | None) -> list[tuple[int, int, int]]:
    """Return up to ``count`` (liked row ID, photo ID, owner ID) a user liked, newest first."""
    with user_shard(user_id):
        rows = Liked.objects.filter(user_id=user_id)
        if max_id is not None:
            rows = rows.filter(id__lt=max_id)
        return list(rows.order_by("-id").values_list("id", "photo_id", "owner_id")[:count])


def likers_page(*, photo_id: int, count: int, viewer_id: int | None = None) -> list[int]:
    """Return up to ``count`` user IDs who liked a photo, newest first.

    Users who blocked ``viewer_id`` or whom the viewer blocked are left out in the query.
    """
    hidden = hidden_cached(viewer_id)
    with photo_shard(photo_id):
        likes = Like.objects.filter(photo_id=photo_id)
        if hidden:
            likes = likes.exclude(user_id__in=hidden)
        return list(likes.order_by("-id").values_list("user_id", flat=True)[:count])


def comments_page(*, photo_id: int, count: int, max_id: int | None) -> list[Comment]:
    """Return up to ``count`` comments on a photo, newest first."""
    with photo_shard(photo_id):
        comments = Comment.objects.filter(photo_id=photo_id)
        if max_id is not None:
            comments = comments.filter(id__lt=max_id)
        return list(comments.order_by("-id")[:count])
