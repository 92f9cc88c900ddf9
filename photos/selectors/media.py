"""Reads of photos: who may see one, and v1's media object as plain data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse

from accounts.models import User
from accounts.selectors.graph import access
from accounts.selectors.users import user_short, users_by_id
from instaclone.sharding.connections import photo_shard, shard_for_photo, use_shard, user_shard
from instaclone.sharding.ids import decode_id
from photos.models import Comment, Like, Liked, Photo
from photos.shortcodes import shortcode
from photos.storage import SIZES, rendition_url

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


def media_object(
    photo: Photo, owner: User, *, viewer_id: int | None, base_url: str
) -> dict[str, Any]:
    """Return v1's media object, with the latest likers and comments (one shard's reads)."""
    with photo_shard(photo.id):
        likers = list(
            Like.objects.filter(photo_id=photo.id)
            .order_by("-id")
            .values_list("user_id", flat=True)[:LIKERS_SHOWN]
        )
        comments = list(Comment.objects.filter(photo_id=photo.id).order_by("-id")[:COMMENTS_SHOWN])
        has_liked = viewer_id is not None and (
            viewer_id in likers
            or Like.objects.filter(photo_id=photo.id, user_id=viewer_id).exists()
        )
    people = users_by_id([*likers, *(c.user_id for c in comments)])
    private = owner.is_private
    images = {
        name: {
            "url": rendition_url(photo.media_key, size, private=private),
            "width": size,
            "height": size,
        }
        for name, size in SIZES.items()
    }
    caption = None
    if photo.caption:
        caption = {
            "id": str(photo.id),
            "text": photo.caption,
            "created_time": _time(photo.id),
            "from": user_short(owner),
        }
    location = None
    if photo.location_name or photo.latitude is not None:
        location = {
            "id": None,
            "name": photo.location_name,
            "latitude": photo.latitude,
            "longitude": photo.longitude,
        }
    return {
        "id": f"{photo.id}_{owner.id}",
        "type": "image",
        "user": user_short(owner),
        "images": images,
        "created_time": _time(photo.id),
        "caption": caption,
        "likes": {
            "count": photo.like_count,
            "data": [user_short(people[u]) for u in likers if u in people],
        },
        "comments": {
            "count": photo.comment_count,
            "data": [comment_object(c, people.get(c.user_id)) for c in reversed(comments)],
        },
        "user_has_liked": has_liked,
        "tags": list(photo.tags),
        "filter": photo.filter_name,
        "link": base_url + reverse("permalink", args=[shortcode(photo.id)]),
        "location": location,
        "users_in_photo": [],
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


def photos_by_id(photo_ids: Iterable[int]) -> dict[int, Photo]:
    """Return the existing photos among ``photo_ids``: one query per logical shard."""
    by_shard: dict[int, list[int]] = {}
    for photo_id in dict.fromkeys(photo_ids):
        by_shard.setdefault(shard_for_photo(photo_id), []).append(photo_id)
    found: dict[int, Photo] = {}
    for shard, ids in by_shard.items():
        with use_shard(shard):
            found.update((p.id, p) for p in Photo.objects.filter(id__in=ids))
    return found


def liked_page(*, user_id: int, count: int, max_id: int | None) -> list[tuple[int, int]]:
    """Return up to ``count`` (liked row ID, photo ID) of what a user liked, newest first."""
    with user_shard(user_id):
        rows = Liked.objects.filter(user_id=user_id)
        if max_id is not None:
            rows = rows.filter(id__lt=max_id)
        return list(rows.order_by("-id").values_list("id", "photo_id")[:count])


def likers_page(*, photo_id: int, count: int) -> list[int]:
    """Return up to ``count`` user IDs who liked a photo, newest first."""
    with photo_shard(photo_id):
        return list(
            Like.objects.filter(photo_id=photo_id)
            .order_by("-id")
            .values_list("user_id", flat=True)[:count]
        )


def comments_page(*, photo_id: int, count: int, max_id: int | None) -> list[Comment]:
    """Return up to ``count`` comments on a photo, newest first."""
    with photo_shard(photo_id):
        comments = Comment.objects.filter(photo_id=photo_id)
        if max_id is not None:
            comments = comments.filter(id__lt=max_id)
        return list(comments.order_by("-id")[:count])
