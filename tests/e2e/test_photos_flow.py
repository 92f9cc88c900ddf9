"""Post with a filter, like, comment and open the permalink through nginx and Gunicorn."""

from __future__ import annotations

import io
import os
import re
import urllib.request
import uuid

import pytest
from PIL import Image

from accounts.models import User

APP = os.environ.get("APP_URL", "http://127.0.0.1:18080")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("INSTACLONE_PROFILE") != "test",
        reason="needs the test stack that `make test` brings up",
    ),
]


def _jpeg() -> bytes:
    image = Image.new("RGB", (900, 700), (30, 120, 200))
    image.paste((240, 180, 40), (300, 200, 600, 500))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def _multipart(fields: dict[str, str], photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + photo
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def test_post_with_a_filter_like_comment_and_open_the_permalink(browser, sign_up) -> None:  # type: ignore[no-untyped-def]
    poster, friend = browser(), browser()
    poster_name = sign_up(poster)
    sign_up(friend)

    _, upload_page = poster.get("/upload/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', upload_page).group(1)  # type: ignore[union-attr]
    body, boundary = _multipart({"csrfmiddlewaretoken": token, "caption": "Blue #sky"}, _jpeg())
    request = urllib.request.Request(  # noqa: S310 - BASE is our own http:// stack
        APP + "/upload/",
        data=body,
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Referer": APP + "/upload/",
        },
    )
    with poster.opener.open(request, timeout=30) as response:
        choose = response.read().decode()
    stash = re.search(r'name="token" value="([^"]+)"', choose).group(1)  # type: ignore[union-attr]
    status, permalink_page = poster.submit(
        "/upload/post/",
        {"token": stash, "filter": "Lord Kelvin", "caption": "Blue #sky"},
        form_page="/upload/",
    )
    assert status == 200
    assert "filter Lord Kelvin" in permalink_page
    code = re.search(r'action="/p/([^/]+)/act/"', permalink_page).group(1)  # type: ignore[union-attr]

    friend.submit(f"/p/{code}/act/", {"action": "like"}, form_page=f"/p/{code}/")
    status, page = friend.submit(
        f"/p/{code}/act/", {"action": "comment", "text": "Gorgeous"}, form_page=f"/p/{code}/"
    )
    assert status == 200
    assert '<strong id="like-count">1</strong> likes' in page
    assert "Gorgeous" in page

    _, public = browser().get(f"/p/{code}/")
    image_url = re.search(r'<meta property="og:image" content="([^"]+)"', public).group(1)  # type: ignore[union-attr]
    with urllib.request.urlopen(image_url.replace("&amp;", "&"), timeout=10) as served:  # noqa: S310
        assert served.headers["Content-Type"] == "image/jpeg"
        with Image.open(io.BytesIO(served.read())) as image:
            assert image.size == (640, 640)
    assert User.objects.filter(username=poster_name).exists()
