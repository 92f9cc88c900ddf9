"""Posting from the browser in two steps (choose a filter from previews, then post), and the grid.

Step one stores the original under a random key and shows it under every filter; step two
posts it with the chosen filter, the random key doubling as the upload's Idempotency-Key so a
double submit makes one photo. No JavaScript needed. The stashed original still carries its
metadata (GPS included): step two deletes it, and the worker's ``photos.upload_stashes_sweep``
deletes any left behind (abandoned, or a failed delete) after ``UPLOAD_STASH_SECONDS``.
"""

from __future__ import annotations

import base64
import io
import secrets

from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from PIL import Image, ImageOps

from accounts.pages.views import profile_context
from photos.filters import FILTER_NAMES, apply_filter
from photos.images import ImageRejected, process_image
from photos.selectors.media import user_photos_page
from photos.services.upload import UploadInvalid, photo_create
from photos.shortcodes import shortcode
from photos.storage import rendition_url, stash_key

PREVIEW_SIZE = 150
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
GRID_SIZE = 30


def _previews(data: bytes) -> list[tuple[str, str]]:
    """Return (filter name, data URI) of the photo's centre square under every filter."""
    thumbnail = next(r for r in process_image(data).renditions if r.size == PREVIEW_SIZE)
    with Image.open(io.BytesIO(thumbnail.data)) as opened:
        base = ImageOps.exif_transpose(opened).convert("RGB")
    previews = []
    for name in FILTER_NAMES:
        out = io.BytesIO()
        apply_filter(base, name).save(out, "JPEG", quality=80)
        previews.append(
            (name, "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode())
        )
    return previews


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    """Take a photo file and show it under each filter, ready to post."""
    if request.method == "GET":
        return render(request, "photos/upload.html", {})
    photo = request.FILES.get("photo")
    if photo is None:
        return render(request, "photos/upload.html", {"error": "Choose a photo."}, status=400)
    data = photo.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        return render(
            request, "photos/upload.html", {"error": "The photo is larger than 25 MB."}, status=400
        )
    try:
        previews = _previews(data)
    except ImageRejected as exc:
        return render(request, "photos/upload.html", {"error": exc.message}, status=400)
    token = secrets.token_urlsafe(18)
    default_storage.save(stash_key(request.user.pk, token), ContentFile(data))
    context = {"previews": previews, "token": token, "caption": request.POST.get("caption", "")}
    return render(request, "photos/choose_filter.html", context)


@login_required
@require_POST
def upload_post(request: HttpRequest) -> HttpResponse:
    """Post the photo stashed by ``upload`` with the chosen filter and caption."""
    token = request.POST.get("token", "")
    key = stash_key(request.user.pk, token)
    expired = {"error": "That upload expired; choose the photo again."}
    if not token.replace("-", "").replace("_", "").isalnum():
        return render(request, "photos/upload.html", expired, status=400)
    try:
        with default_storage.open(key) as stashed:
            data = stashed.read()
    except FileNotFoundError:  # posted already (a double submit), swept, or never stashed
        return render(request, "photos/upload.html", expired, status=400)
    try:
        posted = photo_create(
            user_id=request.user.pk,
            data=data,
            caption=request.POST.get("caption", ""),
            filter_name=request.POST.get("filter", "Normal"),
            idempotency_key=f"web:{token}",
        )
    except UploadInvalid as exc:
        # The page asks for the photo again, so this stash will not be used.
        default_storage.delete(key)
        return render(request, "photos/upload.html", {"error": exc.message}, status=400)
    default_storage.delete(key)
    return HttpResponseRedirect(f"/p/{shortcode(posted.photo_id)}/")


@require_safe
def profile(request: HttpRequest, username: str) -> HttpResponse:
    """Show a profile header and, to those who may see them, the grid of photos."""
    context = profile_context(request, username)
    grid = []
    if context["can_see_content"]:
        owner = context["owner"]
        for photo in user_photos_page(owner_id=owner.id, count=GRID_SIZE, max_id=None):
            grid.append(
                {
                    "code": shortcode(photo.id),
                    "url": rendition_url(photo.media_key, 320, private=owner.is_private),
                    "caption": photo.caption[:100],
                }
            )
    context["grid"] = grid
    return render(request, "photos/profile.html", context)
