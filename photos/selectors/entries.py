"""Photos as cached plain data, ready to show: the row, its latest likers and comments, URLs.

- ``PHOTOS``: one photo as a card: its fields and exact counts, its four latest likers and
  eight latest comments as v1 objects (their authors' names and pictures embedded), who liked
  it when at most ``LIKER_SET_MAX`` did, and its public rendition URLs. Loaded for any number of
  photos with one query per physical server. Forgotten by every write that changes the photo
  (like, unlike, comment, delete); the likers' and commenters' own names and pictures inside may
  be up to ``PHOTO_SECONDS`` old. The owner is embedded too (name, picture, privacy): saving a
  user forgets the cards of all their photos (``connect_card_receivers``), so a privacy switch,
  a ban or a rename of the owner applies at once; a banned owner's photos read as absent. The
  card keeps its v1 media object already encoded as JSON, open at the end for what depends on
  the viewer (photos/selectors/hydration.py closes it).
- ``LIKED``: whether a user liked a photo (``(user_id, photo_id)``), for photos liked by more
  than ``LIKER_SET_MAX``; loaded from the like rows on the photos' shards.
- ``PUBLIC_URLS`` / ``PRIVATE_URLS``: a photo's three signed rendition URLs (largest first) by
  its storage prefix, so rebuilding a card signs nothing. A card carries the public ones; a
  private owner's photos take the short-lived ones instead. A card's URLs may be
  ``PUBLIC_URLS_CACHE_SECONDS`` old when it is built and it lives ``PHOTO_SECONDS``, so a URL
  read from a card still works for at least ``PUBLIC_URL_SECONDS`` minus both (40 minutes).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from django.db import transaction
from django.db.models.signals import post_save

from accounts.selectors.cached import USERS, user_shown_changed, users_cached
from instaclone.caching import Kind, cached_fetch, cached_forget
from instaclone.sharding.connections import query_shards, shard_for_photo, user_shard
from instaclone.sharding.ids import unix_seconds_of_id
from photos.models import Photo
from photos.selectors.media import COMMENTS_SHOWN, LIKERS_SHOWN
from photos.shortcodes import shortcode
from photos.storage import (
    PRIVATE_URL_SECONDS,
    PUBLIC_URL_SECONDS,
    SIZES,
    rendition_key,
    signed_url,
)

PHOTO_SECONDS = 3600
PUBLIC_URLS_CACHE_SECONDS = PUBLIC_URL_SECONDS // 6
PRIVATE_URLS_CACHE_SECONDS = PRIVATE_URL_SECONDS // 2
LIKED_SECONDS = 24 * 3600
# Up to this many likers the card holds them all, so "did the viewer like it" needs no lookup.
LIKER_SET_MAX = 256
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
    f"ORDER BY l.id DESC LIMIT {LIKER_SET_MAX + 1}), "
    "(SELECT coalesce(json_agg(json_build_array(c.id::text, c.user_id::text, c.text) "
    "ORDER BY c.id), '[]') FROM (SELECT id, user_id, text FROM {schema}.photos_comment "
    f"WHERE photo_id = p.id ORDER BY id DESC LIMIT {COMMENTS_SHOWN}) c) "
    "FROM {schema}.photos_photo p WHERE p.id = ANY(%s)"
)


def short_user(user: dict[str, Any]) -> dict[str, Any]:
    """Return v1's short user object from a cached user."""
    return {
        "id": str(user["id"]),
        "username": user["username"],
        "full_name": user["full_name"],
        "profile_picture": user["profile_picture"],
    }


def _photos_load(photo_ids: list[int]) -> dict[int, dict[str, Any]]:
    by_shard: dict[int, list[int]] = {}
    for photo_id in photo_ids:
        try:
            by_shard.setdefault(shard_for_photo(photo_id), []).append(photo_id)
        except LookupError:
            continue  # no shard bits and no owner in the map: no such photo
    rows = query_shards(_PHOTOS_SQL, {shard: [ids] for shard, ids in by_shard.items()})
    # IDs travel as text inside the JSON: JSON numbers are doubles to most readers.
    comments = {row[0]: [(int(c), int(u), text) for c, u, text in row[-1]] for row in rows}
    # Owners, authors and URLs come through the cache too: a like rebuilds the card, not them.
    fetched = cached_fetch(
        {
            USERS: {row[1] for row in rows}
            | {u for row in rows for u in row[-2][:LIKERS_SHOWN]}
            | {u for said in comments.values() for _, u, _ in said},
            PUBLIC_URLS: [row[PHOTO_FIELDS.index("media_key")] for row in rows],
        }
    )
    people, urls = fetched[USERS], fetched[PUBLIC_URLS]
    found = {}
    for row in rows:
        owner = people.get(row[1])
        if owner is None:
            continue  # the owner is banned: the photo reads as absent until reinstated
        card = dict(zip(PHOTO_FIELDS, row[: len(PHOTO_FIELDS)], strict=True))
        card["owner"] = short_user(owner)
        card["owner_private"] = owner["is_private"]
        likers = row[-2]
        card["likers"] = [short_user(people[u]) for u in likers[:LIKERS_SHOWN] if u in people]
        card["liker_ids"] = frozenset(likers) if len(likers) <= LIKER_SET_MAX else None
        # Who the shown likers are, so a reader can take out those blocked from the viewer.
        card["liker_shown"] = frozenset(int(u["id"]) for u in card["likers"])
        card["comments"] = [
            {
                "id": str(comment_id),
                "text": text,
                "created_time": str(unix_seconds_of_id(comment_id)),
                "from": short_user(people[author]),
            }
            for comment_id, author, text in comments[row[0]]
            if author in people
        ]
        card["created_time"] = str(unix_seconds_of_id(card["id"]))
        card["code"] = shortcode(card["id"])
        card["public_urls"] = urls[card["media_key"]]
        found[card["id"]] = _ready(card)
    return found


def _ready(card: dict[str, Any]) -> dict[str, Any]:
    """Keep what readers decide with, and the v1 media object as far as every viewer sees it.

    The object is kept encoded, without its closing brace: readers append ``user_has_liked``,
    ``link`` (the site's address comes from the request) and, for a private owner, ``images``
    with the short-lived URLs, then close it. A read then copies bytes instead of building or
    unpickling thirty nested objects.
    """
    photo_id, user = card["id"], card["owner"]
    caption = None
    if card["caption"]:
        caption = {
            "id": str(photo_id),
            "text": card["caption"],
            "created_time": card["created_time"],
            "from": user,
        }
    location = None
    if card["location_name"] or card["latitude"] is not None:
        location = {
            "id": None,
            "name": card["location_name"],
            "latitude": card["latitude"],
            "longitude": card["longitude"],
        }
    media: dict[str, Any] = {
        "id": f"{photo_id}_{card['user_id']}",
        "type": "image",
        "user": user,
        "created_time": card["created_time"],
        "caption": caption,
        "likes": {"count": card["like_count"], "data": card["likers"]},
        "comments": {"count": card["comment_count"], "data": card["comments"]},
        "tags": list(card["tags"]),
        "filter": card["filter_name"],
        "location": location,
        "users_in_photo": [],
    }
    if not card["owner_private"]:
        media["images"] = images_object(card["public_urls"])
    keep = ("id", "user_id", "media_key", "owner_private", "liker_ids", "liker_shown", "code")
    return {**{name: card[name] for name in keep}, "media_json": orjson.dumps(media)[:-1]}


def images_object(urls: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Return v1's ``images`` from the renditions' URLs, largest first."""
    return {
        name: {"url": url, "width": size, "height": size}
        for (name, size), url in zip(SIZES.items(), urls, strict=True)
    }


def _signed(prefix: str, seconds: int) -> tuple[str, ...]:
    return tuple(
        signed_url(rendition_key(prefix, size), seconds=seconds) for size in SIZES.values()
    )


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
        return {prefix: _signed(prefix, seconds) for prefix in prefixes}

    return load


# card3, url2: entries cached before URLs lived two hours carry week-long ones; new names
# leave those to expire unread.
PHOTOS = Kind("card3", _photos_load, PHOTO_SECONDS)
LIKED = Kind("lk", _liked_load, LIKED_SECONDS)
PUBLIC_URLS = Kind("url2", _urls_loader(PUBLIC_URL_SECONDS), PUBLIC_URLS_CACHE_SECONDS)
PRIVATE_URLS = Kind("purl", _urls_loader(PRIVATE_URL_SECONDS), PRIVATE_URLS_CACHE_SECONDS)


def urls_warm(prefix: str, *, owner_id: int) -> None:
    """Sign and cache a new photo's rendition URLs, of the kind its owner's privacy asks."""
    owner = users_cached([owner_id]).get(owner_id)
    kind = PRIVATE_URLS if owner is not None and owner["is_private"] else PUBLIC_URLS
    cached_fetch({kind: [prefix]})


def photos_forget(photo_ids: Iterable[int], *, using: str | None) -> None:
    """Forget cached photos (call inside the transaction that changes them)."""
    cached_forget(PHOTOS, photo_ids, using=using)


def owner_cards_forget(user_id: int) -> None:
    """Forget the cards of every photo of a user (their name, picture or privacy changed)."""
    with user_shard(user_id) as shard:
        photo_ids = list(Photo.objects.filter(user_id=user_id).values_list("id", flat=True))
    photos_forget(photo_ids, using=shard.alias)


def _owner_saved(sender: type, instance: Any, **kwargs: Any) -> None:
    if not user_shown_changed(kwargs.get("update_fields")):
        return
    if kwargs.get("created"):
        return  # no photos yet
    user_id = instance.pk
    owner_cards_forget(user_id)
    # Again after the users database commits: a card rebuilt meanwhile read the old owner.
    transaction.on_commit(lambda: owner_cards_forget(user_id), using=instance._state.db)


def connect_card_receivers() -> None:
    """Forget a user's photo cards whenever the user is saved (idempotent)."""
    from accounts.models import User

    post_save.connect(_owner_saved, sender=User, dispatch_uid="photos-owner-cards")


def liked_forget(*, user_id: int, photo_id: int, using: str | None) -> None:
    """Forget whether a user liked a photo."""
    cached_forget(LIKED, [(user_id, photo_id)], using=using)
