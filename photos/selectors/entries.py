"""Photos as cached plain data: the row, its latest likers and comments, and signed URLs.

- ``PHOTOS``: one photo with its exact counts, its four latest likers and eight latest
  comments, loaded for any number of photos with one query per physical server. Forgotten by
  every write that changes what it holds (like, unlike, comment, delete).
- ``LIKED``: whether a user liked a photo (``(user_id, photo_id)``), loaded from the like rows
  on the photos' shards; forgotten by like and unlike.
- ``PUBLIC_URLS`` / ``PRIVATE_URLS``: a photo's three signed rendition URLs (largest first) by
  its storage prefix, kept for half of their life, so a request signs nothing while they are
  cached. The owner's privacy picks the kind, so going private needs no invalidation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from instaclone.caching import Kind, cached_forget
from instaclone.sharding.connections import query_shards, shard_for_photo
from photos.selectors.media import COMMENTS_SHOWN, LIKERS_SHOWN
from photos.storage import (
    PRIVATE_URL_SECONDS,
    PUBLIC_URL_SECONDS,
    SIZES,
    rendition_key,
    signed_url,
)

PHOTO_SECONDS = 24 * 3600
LIKED_SECONDS = 24 * 3600
PHOTO_FIELDS = (
    "id",
    "user_id",
    "caption",
    "filter_name",
    "media_key",
    "tags",
    "location_name",
    "latitude",
    "longitude",
    "like_count",
    "comment_count",
)
_PHOTOS_SQL = (
    "SELECT p.id, p.user_id, p.caption, p.filter_name, p.media_key, p.tags, p.location_name, "
    "p.latitude, p.longitude, p.like_count, p.comment_count, "
    "ARRAY(SELECT l.user_id FROM {schema}.photos_like l WHERE l.photo_id = p.id "
    f"ORDER BY l.id DESC LIMIT {LIKERS_SHOWN}), "
    "(SELECT coalesce(json_agg(json_build_array(c.id::text, c.user_id::text, c.text) "
    "ORDER BY c.id), '[]') FROM (SELECT id, user_id, text FROM {schema}.photos_comment "
    f"WHERE photo_id = p.id ORDER BY id DESC LIMIT {COMMENTS_SHOWN}) c) "
    "FROM {schema}.photos_photo p WHERE p.id = ANY(%s)"
)


def _photos_load(photo_ids: list[int]) -> dict[int, dict[str, Any]]:
    by_shard: dict[int, list[int]] = {}
    for photo_id in photo_ids:
        try:
            by_shard.setdefault(shard_for_photo(photo_id), []).append(photo_id)
        except LookupError:
            continue  # no shard bits and no owner in the map: no such photo
    rows = query_shards(_PHOTOS_SQL, {shard: [ids] for shard, ids in by_shard.items()})
    found = {}
    for row in rows:
        entry = dict(zip(PHOTO_FIELDS, row[: len(PHOTO_FIELDS)], strict=True))
        entry["likers"] = list(row[len(PHOTO_FIELDS)])
        # IDs travel as text: JSON numbers are doubles to most readers.
        entry["comments"] = [
            {"id": int(cid), "user_id": int(uid), "text": text}
            for cid, uid, text in row[len(PHOTO_FIELDS) + 1]
        ]
        found[entry["id"]] = entry
    return found


def _liked_load(pairs: list[tuple[int, int]]) -> dict[tuple[int, int], bool]:
    # The like rows on the photos' shards are the truth; the liker's Liked list follows them.
    by_shard: dict[int, tuple[list[int], list[int]]] = {}
    for user_id, photo_id in pairs:
        try:
            shard = shard_for_photo(photo_id)
        except LookupError:
            continue
        users, photos = by_shard.setdefault(shard, ([], []))
        users.append(user_id)
        photos.append(photo_id)
    rows = query_shards(
        "SELECT user_id, photo_id FROM {schema}.photos_like "
        "WHERE (photo_id, user_id) IN (SELECT * FROM unnest(%s::bigint[], %s::bigint[]))",
        {shard: [photos, users] for shard, (users, photos) in by_shard.items()},
    )
    liked = {(user_id, photo_id) for user_id, photo_id in rows}
    return {pair: pair in liked for pair in pairs}


def _urls_loader(seconds: int) -> Any:
    def load(prefixes: list[str]) -> dict[str, tuple[str, ...]]:
        return {
            prefix: tuple(
                signed_url(rendition_key(prefix, size), seconds=seconds) for size in SIZES.values()
            )
            for prefix in prefixes
        }

    return load


PHOTOS = Kind("ph", _photos_load, PHOTO_SECONDS)
LIKED = Kind("lk", _liked_load, LIKED_SECONDS)
PUBLIC_URLS = Kind("url", _urls_loader(PUBLIC_URL_SECONDS), PUBLIC_URL_SECONDS // 2)
PRIVATE_URLS = Kind("purl", _urls_loader(PRIVATE_URL_SECONDS), PRIVATE_URL_SECONDS // 2)


def photos_forget(photo_ids: Iterable[int], *, using: str | None) -> None:
    """Forget cached photos (call inside the transaction that changes them)."""
    cached_forget(PHOTOS, photo_ids, using=using)


def liked_forget(*, user_id: int, photo_id: int, using: str | None) -> None:
    """Forget whether a user liked a photo."""
    cached_forget(LIKED, [(user_id, photo_id)], using=using)
