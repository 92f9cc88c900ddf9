"""Signed URLs stop working two hours after they were signed, and no cache outlives them."""

from __future__ import annotations

import datetime
import http.client
import io
from urllib.parse import parse_qs, urlsplit

import botocore.auth
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from accounts.selectors.cached import PICTURE_URL_SECONDS, USERS, users_cached
from photos.selectors.entries import PHOTOS, PRIVATE_URLS, PUBLIC_URLS
from photos.selectors.hydration import Audience, media_objects
from photos.services.upload import photo_create
from photos.storage import PRIVATE_URL_SECONDS, PUBLIC_URL_SECONDS, media_prefix, rendition_url

# What a reader handed a URL from any cache can count on, at the least.
READER_MARGIN_SECONDS = 40 * 60


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 320), (120, 60, 200)).save(out, "JPEG")
    return out.getvalue()


def _expires(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])


def _get(url: str) -> tuple[int, bytes]:
    """GET a URL from the S3 server; return its status and body."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.hostname is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def _signed_ago(monkeypatch: pytest.MonkeyPatch, seconds: int, sign):  # type: ignore[no-untyped-def]
    """Return what ``sign()`` gives with the signer's clock ``seconds`` behind (handed out then)."""
    clock = botocore.auth.get_current_datetime
    with monkeypatch.context() as patched:
        patched.setattr(
            botocore.auth,
            "get_current_datetime",
            lambda *args, **kwargs: clock(*args, **kwargs) - datetime.timedelta(seconds=seconds),
        )
        return sign()


def test_lifetimes_are_two_hours_and_ten_minutes_and_caches_stay_well_below() -> None:
    assert (PUBLIC_URL_SECONDS, PICTURE_URL_SECONDS, PRIVATE_URL_SECONDS) == (7200, 7200, 600)
    # A card is built from cached URLs and users, then cached itself: both ages add up.
    assert PUBLIC_URLS.seconds + PHOTOS.seconds + READER_MARGIN_SECONDS == PUBLIC_URL_SECONDS
    assert USERS.seconds + PHOTOS.seconds + READER_MARGIN_SECONDS == PICTURE_URL_SECONDS
    # Private URLs are never put in a card: read from their own cache each time.
    assert PRIVATE_URLS.seconds == PRIVATE_URL_SECONDS // 2


def test_urls_handed_out_are_signed_for_two_hours(make_user) -> None:  # type: ignore[no-untyped-def]
    owner = make_user(name="owner")
    owner.profile_picture = f"u/{owner.id}/picture-probe.jpg"
    owner.save(update_fields=["profile_picture"])
    posted = photo_create(user_id=owner.id, data=_jpeg())
    (media,) = media_objects(
        [(posted.photo_id, owner.id)], viewer_id=None, base_url="", audience=Audience.CHECKED
    )
    urls = [image["url"] for image in media["images"].values()]
    assert [_expires(url) for url in urls] == [2 * 3600] * 3
    assert _expires(media["user"]["profile_picture"]) == 2 * 3600
    picture = users_cached([owner.id])[owner.id]["profile_picture"]
    assert _expires(picture) == 2 * 3600


def test_s3_refuses_a_public_url_handed_out_longer_ago_than_its_lifetime(
    live_db, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    prefix = media_prefix(123456789)
    key = f"{prefix}_150.jpg"
    default_storage.save(key, ContentFile(b"a rendition"))
    try:

        def sign() -> str:
            return rendition_url(prefix, 150, private=False)

        assert _get(sign()) == (200, b"a rendition")
        # Handed out just under two hours ago (say before the owner went private): still works.
        assert _get(_signed_ago(monkeypatch, PUBLIC_URL_SECONDS - 60, sign))[0] == 200
        # Just over two hours ago: the S3 server itself refuses it.
        status, body = _get(_signed_ago(monkeypatch, 2 * 3600 + 1, sign))
        assert status == 403
        assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in body
    finally:
        default_storage.delete(key)
