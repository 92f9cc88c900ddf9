"""Turn (photo ID, owner ID) pairs into v1 media objects: one cache read, whatever the count.

``media_objects`` gives dicts (pages, single photos); ``media_fragments`` the same objects as
encoded JSON for the API's lists, spliced from the cards' encoded objects without decoding them.

One ``get_many`` brings the photos' cards (photos/selectors/entries.py: owner, counts, latest
likers and comments, public URLs, who liked it) and the viewer's followees and blocks.
A second read happens only for what a card cannot hold: private owners' short-lived URLs, and
"did the viewer like it" on photos with very many likes. Misses are loaded in bulk, one query
per physical server. Who may see what is decided here from the cards and the graph facts
fetched beside them; saving a user forgets their cards, so a block, a ban, a privacy switch or
a delete is seen by the very next read.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import orjson
from django.urls import reverse

from accounts.selectors.cached import FOLLOWEES, HIDDEN
from instaclone.caching import Kind, cached_fetch
from photos.selectors.entries import LIKED, PHOTOS, PRIVATE_URLS, images_object


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
    return [
        orjson.loads(encoded)
        for encoded in _encoded(refs, viewer_id=viewer_id, base_url=base_url, audience=audience)
    ]


def media_fragments(
    refs: Sequence[tuple[int, int]],
    *,
    viewer_id: int | None,
    base_url: str,
    audience: Audience,
) -> list[orjson.Fragment]:
    """Return what ``media_objects`` does, as JSON that ``orjson.dumps`` embeds as it is.

    For the API's lists, which only encode the objects: nothing is decoded or built again.
    """
    return [
        orjson.Fragment(encoded)
        for encoded in _encoded(refs, viewer_id=viewer_id, base_url=base_url, audience=audience)
    ]


def _encoded(
    refs: Sequence[tuple[int, int]],
    *,
    viewer_id: int | None,
    base_url: str,
    audience: Audience,
) -> list[bytes]:
    """Return the encoded v1 media objects the viewer may see, in order."""
    if not refs:
        return []
    wanted: dict[Kind, Any] = {PHOTOS: [photo_id for photo_id, _ in refs]}
    if viewer_id is not None:
        wanted[FOLLOWEES] = [viewer_id]
        wanted[HIDDEN] = [viewer_id]
    first = cached_fetch(wanted)
    followees = first.get(FOLLOWEES, {}).get(viewer_id, frozenset())
    hidden = first.get(HIDDEN, {}).get(viewer_id, frozenset())
    shown = []
    for photo_id, owner_id in refs:
        card = first[PHOTOS].get(photo_id)
        if card is None or card["user_id"] != owner_id:
            continue  # deleted, its owner banned, or a stale reference
        if _may_see(viewer_id, card, audience, followees, hidden):
            shown.append(card)
    if not shown:
        return []
    more: dict[Kind, Any] = {
        PRIVATE_URLS: [card["media_key"] for card in shown if card["owner_private"]],
    }
    if viewer_id is not None:
        more[LIKED] = [(viewer_id, c["id"]) for c in shown if c["liker_ids"] is None]
    second = cached_fetch(more) if any(more.values()) else {}
    private_urls = second.get(PRIVATE_URLS, {})
    liked = second.get(LIKED, {})
    link = base_url + reverse("permalink", args=["-"])[:-2]  # "/p/", found once
    return [
        media_encoded(
            _likers_unhidden(card, hidden),
            urls=private_urls[card["media_key"]] if card["owner_private"] else None,
            has_liked=viewer_id is not None
            and (
                viewer_id in card["liker_ids"]
                if card["liker_ids"] is not None
                else liked.get((viewer_id, card["id"]), False)
            ),
            link_prefix=link,
        )
        for card in shown
    ]


def _likers_unhidden(card: dict[str, Any], hidden: frozenset[int]) -> dict[str, Any]:
    """Return the card without the shown likers who blocked the viewer or whom they blocked.

    The common case costs one set intersection; only a card showing such a liker is decoded.
    """
    if not hidden & card.get("liker_shown", frozenset()):  # cards cached before it: none
        return card
    media = orjson.loads(card["media_json"] + b"}")
    media["likes"]["data"] = [u for u in media["likes"]["data"] if int(u["id"]) not in hidden]
    return {**card, "media_json": orjson.dumps(media)[:-1]}


def _may_see(
    viewer_id: int | None,
    card: dict[str, Any],
    audience: Audience,
    followees: frozenset[int],
    hidden: frozenset[int],
) -> bool:
    owner_id = card["user_id"]
    if owner_id == viewer_id:
        return True
    if owner_id in hidden:
        return False
    if audience is Audience.FOLLOWED:
        return owner_id in followees
    if audience is Audience.VISIBLE:
        return not card["owner_private"] or owner_id in followees
    return True


def media_encoded(
    card: dict[str, Any],
    *,
    urls: tuple[str, ...] | None,
    has_liked: bool,
    link_prefix: str,
) -> bytes:
    """Return v1's media object, encoded, from a photo's card (its object, kept encoded open).

    ``urls`` are a private owner's short-lived rendition URLs (a public owner's are in the
    card); ``link_prefix`` is the absolute permalink path before the short code.
    """
    parts = [
        card["media_json"],
        b',"user_has_liked":true,"link":' if has_liked else b',"user_has_liked":false,"link":',
        orjson.dumps(f"{link_prefix}{card['code']}/"),
    ]
    if urls is not None:
        parts += [b',"images":', orjson.dumps(images_object(urls))]
    parts.append(b"}")
    return b"".join(parts)
