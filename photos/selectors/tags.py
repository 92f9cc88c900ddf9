"""Reads of tags: a tag, tag search, and a tag's recent photos that the viewer may see."""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Lower

from photos.models import Tag, TagMedia
from photos.selectors.hydration import Audience, media_objects

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
    *, name: str, viewer_id: int | None, count: int, max_id: int | None, base_url: str
) -> tuple[list[dict[str, Any]], int | None]:
    """Return up to ``count`` visible media objects of a tag, newest first, and the next cursor.

    Photos the viewer may not see are skipped; the cursor is the last index row read, so paging
    never loops on a run of hidden photos. None means there is nothing older.
    """
    shown: list[dict[str, Any]] = []
    cursor = max_id
    while len(shown) < count:
        rows = TagMedia.objects.filter(tag=name.lower())
        if cursor is not None:
            rows = rows.filter(photo_id__lt=cursor)
        batch = list(rows.order_by("-photo_id").values_list("photo_id", "owner_id")[: count * 2])
        if not batch:
            return shown, None
        found = media_objects(
            batch, viewer_id=viewer_id, base_url=base_url, audience=Audience.VISIBLE
        )
        cursor = batch[-1][0]
        for media in found:
            shown.append(media)
            if len(shown) == count:
                cursor = int(media["id"].split("_")[0])
                break
    return shown, cursor
