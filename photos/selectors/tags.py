"""Reads of tags: a tag, tag search, and a tag's recent photos that the viewer may see."""

from __future__ import annotations

from django.db.models.functions import Lower

from accounts.models import User
from accounts.selectors.graph import owners_visible_to
from photos.models import Photo, Tag, TagMedia
from photos.selectors.media import photos_by_id

SEARCH_MAX = 50


def tag_get(name: str) -> Tag | None:
    """Return a tag by name (any case)."""
    return Tag.objects.filter(name=name.lower()).first()


def tag_search(*, query: str, count: int) -> list[Tag]:
    """Return tags starting with ``query``, most used first."""
    prefix = query.strip().lstrip("#").lower()
    if not prefix:
        return []
    return list(
        Tag.objects.annotate(lower_name=Lower("name"))
        .filter(lower_name__startswith=prefix, media_count__gt=0)
        .order_by("-media_count", "name")[: min(count, SEARCH_MAX)]
    )


def tag_photos_page(
    *, name: str, viewer_id: int | None, count: int, max_id: int | None
) -> tuple[list[tuple[Photo, User]], int | None]:
    """Return up to ``count`` visible (photo, owner) of a tag, newest first, and the next cursor.

    Rows the viewer may not see are skipped; the cursor is the last index row read, so paging
    never loops on a run of hidden photos.
    """
    shown: list[tuple[Photo, User]] = []
    cursor = max_id
    while len(shown) < count:
        rows = TagMedia.objects.filter(tag=name.lower())
        if cursor is not None:
            rows = rows.filter(photo_id__lt=cursor)
        batch = list(rows.order_by("-photo_id").values_list("photo_id", "owner_id")[: count * 2])
        if not batch:
            return shown, None
        owners = {
            u.id: u for u in User.objects.filter(id__in={o for _, o in batch}, is_active=True)
        }
        visible = owners_visible_to(
            viewer_id=viewer_id, owners={o: u.is_private for o, u in owners.items()}
        )
        photos = photos_by_id(p for p, o in batch if o in visible)
        for photo_id, owner_id in batch:
            cursor = photo_id
            if photo_id in photos:
                shown.append((photos[photo_id], owners[owner_id]))
                if len(shown) == count:
                    break
    return shown, cursor
