"""OWASP API7, server side request forgery: the service never fetches a URL a client supplies.

A socket listens on loopback for the whole test; its URL goes everywhere a person can type text
(website, bio, caption, location, comment, the photo field itself, a text chunk inside the
image), and the pages, the API and the worker's jobs then handle all of it. Not one connection
may reach the socket. Uploads take bytes: a URL in place of the photo is refused.
"""

from __future__ import annotations

import io
import os
import socket
import time
from collections.abc import Iterator
from urllib.request import urlopen

import pytest
import redis
from django.conf import settings
from django.test import Client
from PIL import Image, PngImagePlugin

from accounts.models import User
from photos.shortcodes import shortcode
from tests.worker_queue import jobs_due

APP_URL = os.environ.get("APP_URL", "http://127.0.0.1:18080")


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str]]:
    """Listen on a free loopback port; yield the socket and a URL that points at it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    try:
        yield sock, f"http://127.0.0.1:{sock.getsockname()[1]}/ssrf.jpg"
    finally:
        sock.close()


def _connections(sock: socket.socket) -> int:
    """Return how many connections arrived (accepted and closed at once)."""
    count = 0
    while True:
        try:
            peer, _ = sock.accept()
        except BlockingIOError:
            return count
        peer.close()
        count += 1


def _png_naming(url: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("XML:com.adobe.xmp", f'<x:xmpmeta><rdf:li rdf:resource="{url}"/></x:xmpmeta>')
    info.add_text("Source", url)
    out = io.BytesIO()
    Image.new("RGB", (300, 300), (10, 200, 90)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def _jobs_settle(timeout: float = 30.0) -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    deadline = time.monotonic() + timeout
    while jobs_due(broker):
        assert time.monotonic() < deadline, "the worker did not finish its jobs in time"
        time.sleep(0.05)


def test_urls_people_type_are_never_fetched(make_user, token_for, listener) -> None:  # type: ignore[no-untyped-def]
    sock, url = listener
    person, friend = make_user(name="ssrf"), make_user(name="ssrffan")
    web = Client()
    web.force_login(person)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(person)}"}
    friend_auth = {"HTTP_AUTHORIZATION": f"Bearer {token_for(friend)}"}

    edited = web.post(
        "/accounts/edit/", {"email": person.email, "website": url, "bio": f"see {url}"}
    )
    assert edited.status_code == 302
    assert User.objects.get(id=person.id).website == url
    photo = io.BytesIO(_png_naming(url))
    photo.name = "p.png"
    posted = Client().post(
        "/v1/media/upload",
        {"photo": photo, "caption": f"look {url} #ssrf", "location_name": url},
        **auth,
    )
    assert posted.status_code == 200, posted.content
    media_id = posted.json()["data"]["id"]
    code = shortcode(int(media_id.split("_")[0]))
    commented = Client().post(f"/v1/media/{media_id}/comments", {"text": url}, **friend_auth)
    assert commented.status_code == 200
    followed = Client().post(
        f"/v1/users/{person.id}/relationship", {"action": "follow"}, **friend_auth
    )
    assert followed.status_code == 200
    _jobs_settle()
    reads = [
        Client().get(f"/v1/users/{person.id}", **friend_auth),
        Client().get(f"/v1/media/{media_id}", **friend_auth),
        Client().get("/v1/users/self/feed", **friend_auth),
        Client().get(f"/{person.username}/"),
        Client().get(f"/p/{code}/"),
    ]
    assert [answer.status_code for answer in reads] == [200] * 5
    assert reads[0].json()["data"]["website"] == url
    # Once more through nginx and Gunicorn, the processes that serve real clients.
    with urlopen(f"{APP_URL}/{person.username}/", timeout=10) as page:  # noqa: S310 - our nginx
        assert url in page.read().decode()

    assert _connections(sock) == 0


def test_a_url_in_place_of_the_photo_is_refused_unfetched(make_user, token_for, listener) -> None:  # type: ignore[no-untyped-def]
    sock, url = listener
    person = make_user(name="ssrf")
    web = Client()
    web.force_login(person)

    api = Client().post(
        "/v1/media/upload",
        {"photo": url, "caption": "by reference"},
        HTTP_AUTHORIZATION=f"Bearer {token_for(person)}",
    )
    page = web.post("/upload/", {"photo": url})

    assert api.status_code == 400
    assert api.json()["meta"]["error_type"] == "APIInvalidParametersError"
    assert "photo" in api.json()["meta"]["error_message"]
    assert page.status_code == 400
    assert "Choose a photo." in page.content.decode()
    assert _connections(sock) == 0
