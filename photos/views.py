"""Photo pages in the browser: the public permalink with its sharing tags."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from photos.selectors import media as media_reads
from photos.selectors.hydration import Audience, media_objects
from photos.selectors.tags import tag_get, tag_photos_page
from photos.services import comments, likes
from photos.shortcodes import photo_id_from, shortcode
from photos.storage import signed_key_valid
from photos.text import TAG_NAME, TextInvalid

TWEET_INTENT = "https://twitter.com/intent/tweet"
TAG_PAGE_SIZE = 30


@require_safe
def permalink(request: HttpRequest, code: str) -> HttpResponse:
    """Show one photo with its likes and comments, and Open Graph / Twitter Card tags."""
    photo_id = photo_id_from(code)
    if photo_id is None:
        raise Http404("no such photo")
    viewer_id = request.user.pk if request.user.is_authenticated else None
    try:
        photo, owner = media_reads.visible_photo(photo_id=photo_id, viewer_id=viewer_id)
    except (media_reads.MediaHidden, media_reads.MediaNotAllowed) as exc:
        raise Http404("no such photo") from exc
    found = media_objects(
        [(photo.id, owner.id)],
        viewer_id=viewer_id,
        base_url=request.build_absolute_uri("/").rstrip("/"),
        audience=Audience.CHECKED,
    )
    if not found:
        raise Http404("no such photo")
    media = found[0]
    text = (photo.caption or f"A photo by {owner.username}")[:200]
    share = f"{TWEET_INTENT}?{urlencode({'text': text, 'url': media['link']})}"
    context = {
        "media": media,
        "owner": owner,
        "share_url": share,
        "description": text,
        "code": code,
    }
    return render(request, "photos/permalink.html", context)


@login_required
@require_POST
def permalink_action(request: HttpRequest, code: str) -> HttpResponse:
    """Like, unlike or comment; then go back to ``next`` if it is a local path, else the photo."""
    photo_id = photo_id_from(code)
    if photo_id is None:
        raise Http404("no such photo")
    try:
        photo, _ = media_reads.visible_photo(photo_id=photo_id, viewer_id=request.user.pk)
    except (media_reads.MediaHidden, media_reads.MediaNotAllowed) as exc:
        raise Http404("no such photo") from exc
    action = request.POST.get("action", "")
    try:
        if action == "like":
            likes.like(user_id=request.user.pk, photo_id=photo.id)
        elif action == "unlike":
            likes.unlike(user_id=request.user.pk, photo_id=photo.id)
        elif action == "comment":
            comments.comment_create(
                user_id=request.user.pk, photo_id=photo.id, text=request.POST.get("text", "")
            )
        else:
            return HttpResponseBadRequest("action must be like, unlike or comment")
    except TextInvalid as exc:
        messages.error(request, str(exc))
    back = request.POST.get("next", "")
    # No allowed hosts: only a path on this site passes, never another origin.
    if not (back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts=None)):
        back = f"/p/{code}/"
    return HttpResponseRedirect(back)


@require_safe
def tag_page(request: HttpRequest, name: str) -> HttpResponse:
    """Show a tag's recent photos that the viewer may see, older ones on demand."""
    if not TAG_NAME.match(name):
        raise Http404("no such tag")
    viewer_id = request.user.pk if request.user.is_authenticated else None
    raw_cursor = request.GET.get("max_tag_id", "")
    # isdigit alone takes "²" and other scripts' digits, which int() refuses.
    if raw_cursor and (not (raw_cursor.isascii() and raw_cursor.isdigit()) or len(raw_cursor) > 19):
        raise Http404("bad cursor")
    shown, cursor = tag_photos_page(
        name=name,
        viewer_id=viewer_id,
        count=TAG_PAGE_SIZE,
        max_id=int(raw_cursor) if raw_cursor else None,
        base_url=request.build_absolute_uri("/").rstrip("/"),
    )
    tag = tag_get(name)
    grid = [
        {
            "code": shortcode(int(media["id"].split("_")[0])),
            "url": media["images"]["low_resolution"]["url"],
            "caption": (media["caption"] or {}).get("text", "")[:100],
        }
        for media in shown
    ]
    if tag is not None and tag.media_count <= 0:
        tag = None  # only photos strangers may not see carry it: say nothing about them
    context = {"name": name.lower(), "tag": tag, "grid": grid, "next_max_tag_id": cursor}
    return render(request, "photos/tag.html", context)


@require_safe
def media_file(request: HttpRequest, key: str) -> FileResponse:
    """Serve a rendition from the file system store to a holder of a valid signed URL."""
    if not signed_key_valid(key, request.GET.get("e", ""), request.GET.get("s", "")):
        raise Http404("no such file")
    try:
        handle = default_storage.open(key)
    except FileNotFoundError as exc:
        raise Http404("no such file") from exc
    return FileResponse(handle, content_type="image/jpeg")
