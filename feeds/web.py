"""The home feed and explore pages in the browser: plain HTML forms, no JavaScript needed."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from feeds.popular import popular_entries
from feeds.selectors import home_feed_entries
from photos.selectors.hydration import Audience, media_objects
from photos.shortcodes import shortcode

FEED_PAGE_SIZE = 12
# IDs are 64-bit; 19 decimal digits hold every one (and the feed store packs them in 8 bytes).
MAX_ID_DIGITS = 19


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _max_id(raw: str) -> int | None:
    """Return the ``max_id`` cursor, None when absent; raise ValueError when malformed."""
    if not raw:
        return None
    # str.isdigit alone accepts superscripts and other scripts' digits, which int() refuses.
    if len(raw) > MAX_ID_DIGITS or not (raw.isascii() and raw.isdigit()):
        raise ValueError(raw)
    return int(raw)


def _photo_id(media: dict[str, Any]) -> int:
    return int(media["id"].split("_")[0])


def _feed_item(media: dict[str, Any], *, back: str) -> dict[str, Any]:
    photo_id = _photo_id(media)
    comments = media["comments"]
    return {
        "media": media,
        "photo_id": photo_id,
        "code": shortcode(photo_id),
        "next": f"{back}#item-{photo_id}",
        "more_comments": comments["count"] > len(comments["data"]),
    }


@require_safe
def home_feed(request: HttpRequest) -> HttpResponse:
    """Show the signed-in person's feed, a page at a time; send others to log in."""
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    try:
        max_id = _max_id(request.GET.get("max_id", ""))
    except ValueError:
        refused = {"title": "Bad request", "message": "max_id must be a photo ID (digits only)."}
        return render(request, "accounts/refused.html", refused, status=400)
    viewer = request.user.pk
    entries = home_feed_entries(user_id=viewer, count=FEED_PAGE_SIZE + 1, max_id=max_id)
    shown = entries[:FEED_PAGE_SIZE]
    media = media_objects(
        shown, viewer_id=viewer, base_url=_base_url(request), audience=Audience.FOLLOWED
    )
    back = request.get_full_path()
    # The cursor is the last entry read, shown or not, so a run of hidden ones never loops.
    older = shown[-1][0] if len(entries) > FEED_PAGE_SIZE else None
    context = {
        "items": [_feed_item(m, back=back) for m in media],
        "older_max_id": older,
        "paged": max_id is not None,
    }
    return render(request, "feeds/home.html", context)


@require_safe
def explore(request: HttpRequest) -> HttpResponse:
    """Show popular photos as a grid; anyone may look, private accounts' photos never show."""
    viewer = request.user.pk if request.user.is_authenticated else None
    media = media_objects(
        popular_entries(), viewer_id=viewer, base_url=_base_url(request), audience=Audience.VISIBLE
    )
    grid = [
        {
            "code": shortcode(_photo_id(m)),
            "url": m["images"]["low_resolution"]["url"],
            "caption": (m["caption"] or {}).get("text", "")[:100],
            "username": m["user"]["username"],
        }
        for m in media
    ]
    return render(request, "feeds/explore.html", {"grid": grid})
