"""Turn (photo ID, owner ID) pairs into v1 media objects: two cache reads, whatever the count.

The first ``get_many`` brings the photos, their owners, whether the viewer liked each, and the
viewer's followees and blocks; the second the likers and commenters not already known and the
renditions' signed URLs (their kind depends on the owner's privacy, known only by then). Misses
are loaded in bulk, one query per physical server. Who may see what is decided here from the
same cached facts, so a block, a ban or a delete is seen by the very next read.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

from django.urls import reverse

from accounts.selectors.cached import FOLLOWEES, HIDDEN, USERS
from instaclone.caching import Kind, cached_fetch
from instaclone.sharding.ids import unix_seconds_of_id
from photos.selectors.entries import LIKED, PHOTOS, PRIVATE_URLS, PUBLIC_URLS
from photos.shortcodes import shortcode
from photos.storage import SIZES


class Audience(Enum):
    """Whose photos a list may show the viewer."""

    FOLLOWED = "followed"  # the home feed: the viewer's own and their followees'
    VISIBLE = "visible"  # tags, popular, liked: public ones, followees' and the viewer's own
    CHECKED = "checked"  # one owner whose access the caller has already checked


def media_objects(
    refs: Sequence[tuple[int, int]],
    *,
    viewer_id: int | None,
    base_url: str,
    audience: Audience,
) -> list[dict[str, Any]]:
    """Return v1 media objects for (photo ID, owner ID) pairs the viewer may see, in order."""
    if not refs:
        return []
    photo_ids = [photo_id for photo_id, _ in refs]
    wanted: dict[Kind, Any] = {PHOTOS: photo_ids, USERS: {owner for _, owner in refs}}
    if viewer_id is not None:
        wanted[LIKED] = [(viewer_id, photo_id) for photo_id in photo_ids]
        wanted[FOLLOWEES] = [viewer_id]
        wanted[HIDDEN] = [viewer_id]
    first = cached_fetch(wanted)
    users = first[USERS]
    followees = first.get(FOLLOWEES, {}).get(viewer_id, frozenset())
    hidden = first.get(HIDDEN, {}).get(viewer_id, frozenset())
    shown = []
    for photo_id, owner_id in refs:
        entry = first[PHOTOS].get(photo_id)
        owner = users.get(owner_id)
        if entry is None or owner is None or entry["user_id"] != owner_id:
            continue  # deleted, its owner banned, or a stale reference
        if _may_see(viewer_id, owner, audience, followees, hidden):
            shown.append((entry, owner))
    if not shown:
        return []
    people = {person for entry, _ in shown for person in _people_of(entry)} - set(users)
    second = cached_fetch(
        {
            USERS: people,
            PUBLIC_URLS: [e["media_key"] for e, owner in shown if not owner["is_private"]],
            PRIVATE_URLS: [e["media_key"] for e, owner in shown if owner["is_private"]],
        }
    )
    everyone = {**users, **second[USERS]}
    urls = {**second[PUBLIC_URLS], **second[PRIVATE_URLS]}
    liked = first.get(LIKED, {})
    link = base_url + reverse("permalink", args=["-"])[:-2]  # "/p/", found once
    return [
        media_object(
            entry,
            owner=owner,
            people=everyone,
            urls=urls,
            has_liked=liked.get((viewer_id, entry["id"]), False),
            link_prefix=link,
        )
        for entry, owner in shown
    ]


def _may_see(
    viewer_id: int | None,
    owner: dict[str, Any],
    audience: Audience,
    followees: frozenset[int],
    hidden: frozenset[int],
) -> bool:
    owner_id = owner["id"]
    if owner_id == viewer_id:
        return True
    if owner_id in hidden:
        return False
    if audience is Audience.FOLLOWED:
        return owner_id in followees
    if audience is Audience.VISIBLE:
        return not owner["is_private"] or owner_id in followees
    return True


def _people_of(entry: dict[str, Any]) -> list[int]:
    return [*entry["likers"], *(comment["user_id"] for comment in entry["comments"])]


def user_short(user: dict[str, Any]) -> dict[str, Any]:
    """Return v1's short user object from a cached user."""
    return {
        "id": str(user["id"]),
        "username": user["username"],
        "full_name": user["full_name"],
        "profile_picture": user["profile_picture"],
    }


def _time(object_id: int) -> str:
    return str(unix_seconds_of_id(object_id))


def media_object(
    entry: dict[str, Any],
    *,
    owner: dict[str, Any],
    people: dict[int, dict[str, Any]],
    urls: dict[str, tuple[str, ...]],
    has_liked: bool,
    link_prefix: str,
) -> dict[str, Any]:
    """Return v1's media object from a cached photo and the users and URLs it names.

    ``urls`` maps storage prefixes to the renditions' URLs, largest first; ``link_prefix`` is
    the absolute permalink path before the short code.
    """
    photo_id = entry["id"]
    signed = urls.get(entry["media_key"], ("",) * len(SIZES))
    images = {
        name: {"url": url, "width": size, "height": size}
        for (name, size), url in zip(SIZES.items(), signed, strict=True)
    }
    caption = None
    if entry["caption"]:
        caption = {
            "id": str(photo_id),
            "text": entry["caption"],
            "created_time": _time(photo_id),
            "from": user_short(owner),
        }
    location = None
    if entry["location_name"] or entry["latitude"] is not None:
        location = {
            "id": None,
            "name": entry["location_name"],
            "latitude": entry["latitude"],
            "longitude": entry["longitude"],
        }
    comments = [
        {
            "id": str(comment["id"]),
            "text": comment["text"],
            "created_time": _time(comment["id"]),
            "from": user_short(people[comment["user_id"]]),
        }
        for comment in entry["comments"]
        if comment["user_id"] in people
    ]
    return {
        "id": f"{photo_id}_{owner['id']}",
        "type": "image",
        "user": user_short(owner),
        "images": images,
        "created_time": _time(photo_id),
        "caption": caption,
        "likes": {
            "count": entry["like_count"],
            "data": [user_short(people[u]) for u in entry["likers"] if u in people],
        },
        "comments": {"count": entry["comment_count"], "data": comments},
        "user_has_liked": has_liked,
        "tags": list(entry["tags"]),
        "filter": entry["filter_name"],
        "link": f"{link_prefix}{shortcode(photo_id)}/",
        "location": location,
        "users_in_photo": [],
    }
