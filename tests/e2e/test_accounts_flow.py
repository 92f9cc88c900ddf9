"""Sign up, log in and follow through nginx and Gunicorn: the web pages and the v1 API."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from accounts.models import User
from accounts.selectors.graph import user_counts
from instaclone.sharding.redis_client import redis_client

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("INSTACLONE_PROFILE") != "test",
        reason="needs the test stack that `make test` brings up",
    ),
]
BASE = os.environ.get("APP_URL", "http://127.0.0.1:38080")


class Browser:
    """A cookie-keeping HTTP client that fills in Django's CSRF token like a browser form."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str]:
        """Fetch a page and return (status, body)."""
        try:
            with self.opener.open(BASE + path, timeout=15) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def submit(
        self, path: str, fields: dict[str, str], *, form_page: str | None = None
    ) -> tuple[int, str]:
        """Load the form page for its CSRF token, then post the fields; follow redirects."""
        _, page = self.get(form_page or path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token, f"no CSRF token on {form_page or path}"
        data = urllib.parse.urlencode({"csrfmiddlewaretoken": token.group(1), **fields}).encode()
        request = urllib.request.Request(  # noqa: S310 - BASE is our own http:// stack
            BASE + path, data=data, headers={"Referer": BASE + path}
        )
        try:
            with self.opener.open(request, timeout=15) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


def _api(method: str, path: str, token: str | None = None, **form: str) -> tuple[int, Any]:
    data = urllib.parse.urlencode(form).encode() if method == "POST" else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(  # noqa: S310 - BASE is our own http:// stack
        BASE + path, data=data, headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - our stack
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def names(live_db, forget) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Hand out fresh usernames; delete those accounts afterwards."""
    # Sign-ups through nginx all come from 127.0.0.1; start each run with a clean count.
    client = redis_client()
    for key in client.scan_iter("abuse:signup:*"):
        client.delete(key)
    made: list[str] = []
    yield made
    ids = list(User.objects.filter(username__in=made).values_list("id", flat=True))
    forget(ids)


def _sign_up(browser: Browser, names: list[str]) -> str:
    username = f"e2e_{uuid.uuid4().hex[:10]}"
    names.append(username)
    status, page = browser.submit(
        "/accounts/signup/",
        {
            "username": username,
            "email": f"{username}@example.com",
            "full_name": "End To End",
            "password": "a long enough passphrase 42",
        },
    )
    assert status == 200, page[:500]
    assert User.objects.filter(username=username).exists()
    return username


def test_sign_up_log_in_and_follow_in_the_browser(names) -> None:  # type: ignore[no-untyped-def]
    alice, bob = Browser(), Browser()
    alice_name = _sign_up(alice, names)
    bob_name = _sign_up(bob, names)
    bob_id = User.objects.get(username=bob_name).id

    # Log out and back in, by email this time.
    status, _ = alice.submit("/accounts/logout/", {}, form_page=f"/{alice_name}/")
    assert status == 200
    status, page = alice.submit(
        "/accounts/login/",
        {"login": f"{alice_name}@example.com", "password": "a long enough passphrase 42"},
    )
    assert status == 200, page[:500]

    status, page = alice.submit(
        f"/accounts/relationship/{bob_id}/",
        {"action": "follow", "next": f"/{bob_name}/"},
        form_page=f"/{bob_name}/",
    )
    assert status == 200
    assert '<strong id="followed-by-count">1</strong> followers' in page
    assert 'id="follow-button">Following</button>' in page
    _, followers = bob.get(f"/{bob_name}/followers/")
    assert alice_name in followers
    assert user_counts(user_id=bob_id)["followed_by"] == 1


def test_mobile_app_signs_in_and_follows_through_the_api(names) -> None:  # type: ignore[no-untyped-def]
    browser = Browser()
    alice_name = _sign_up(browser, names)
    bob_name = _sign_up(Browser(), names)
    status, body = _api(
        "POST",
        "/oauth/access_token",
        client_id=settings.FIRST_PARTY_CLIENT_ID,
        client_secret=settings.FIRST_PARTY_CLIENT_SECRET,
        grant_type="password",
        username=alice_name,
        password="a long enough passphrase 42",
        scope="basic relationships",
    )
    assert status == 200, body
    assert body["user"]["username"] == alice_name
    token = body["access_token"]

    bob_id = str(User.objects.get(username=bob_name).id)
    status, answer = _api("POST", f"/v1/users/{bob_id}/relationship", token, action="follow")
    assert status == 200, answer
    assert answer["data"]["outgoing_status"] == "follows"
    status, me = _api("GET", "/v1/users/self.json", token)
    assert me["data"]["counts"]["follows"] == 1
    status, listing = _api("GET", f"/v1/users/{bob_id}/followed-by?count=5", token)
    assert [user["username"] for user in listing["data"]] == [alice_name]
    status, refused = _api("GET", "/v1/users/self", "not-a-real-token")
    assert status == 400
    assert refused["meta"]["error_type"] == "OAuthAccessTokenException"
