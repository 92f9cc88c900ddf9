"""Reads of tags: a tag, tag search, and a tag's recent photos that the viewer may see.

A page reads two bounded ranges of the index, never a loop over whatever a tag holds:

- the visible rows (owners active and public) from their partial index, at most
  ``SCAN_FACTOR * count`` of them: what hydration then drops (an owner who blocked the viewer
  or whom the viewer blocked, a photo deleted or banned a moment ago) is bounded too, and
  when it drops many the page ends early with a cursor at the last row read;
- for a signed-in viewer, the hidden rows of the viewer's own and their followees' photos only
  (index on tag, owner), however many hidden photos strangers put on the tag.
"""

from __future__ import annotations

from typing import Any

from django.db.models.functions import Lower

from accounts.selectors.cached import followees_cached
from photos.models import Tag, TagMedia
from photos.selectors.hydration import Audience, media_objects

SEARCH_MAX = 50
# Index rows read per page and range, in units of the page size.
SCAN_FACTOR = 2


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

    The page may hold fewer than ``count`` when the rows read ran into hidden ones; the cursor
    then continues after the last row read. None means there is nothing older.
    """
    tag = name.lower()
    scan = SCAN_FACTOR * count
    public = TagMedia.objects.filter(tag=tag, visible=True)
    if max_id is not None:
        public = public.filter(photo_id__lt=max_id)
    rows = list(public.order_by("-photo_id").values_list("photo_id", "owner_id")[:scan])
    # Rows older than the last one read are unknown yet: nothing below it belongs on this page.
    floor = rows[-1][0] if len(rows) == scan else None
    if viewer_id is not None:
        own = TagMedia.objects.filter(
            tag=tag, visible=False, owner_id__in=[viewer_id, *followees_cached(viewer_id)]
        )
        if max_id is not None:
            own = own.filter(photo_id__lt=max_id)
        if floor is not None:
            own = own.filter(photo_id__gt=floor)
        rows += own.order_by("-photo_id").values_list("photo_id", "owner_id")[:scan]
        # The two reads are two statements: an owner's privacy switch committed between them
        # moves a row from the first range to the second, and it would come back twice.
        rows = sorted(set(rows), reverse=True)[:scan]
        if len(rows) == scan:
            floor = rows[-1][0]
    found = media_objects(rows, viewer_id=viewer_id, base_url=base_url, audience=Audience.VISIBLE)
    if len(found) > count:
        return found[:count], _photo_id(found[count - 1])
    return found, floor


def _photo_id(media: dict[str, Any]) -> int:
    return int(media["id"].split("_")[0])
