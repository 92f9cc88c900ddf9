"""End-to-end helpers: a cookie-keeping browser stand-in and fresh accounts, through nginx."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accounts.models import User
from instaclone.sharding.redis_client import redis_client

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


def api_call(method: str, path: str, token: str | None = None, **form: str) -> tuple[int, Any]:
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


def sign_up_as(browser: Browser, names: list[str]) -> str:
    """Sign a new account up through the web form; return its username."""
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


@pytest.fixture
def browser() -> Callable[[], Browser]:
    """Return a maker of fresh browsers."""
    return Browser


@pytest.fixture
def sign_up(names) -> Callable[[Browser], str]:  # type: ignore[no-untyped-def]
    """Return a function that signs a new account up in a browser."""
    return lambda b: sign_up_as(b, names)


@pytest.fixture
def api() -> Callable[..., tuple[int, Any]]:
    """Return a caller of the v1 API through nginx."""
    return api_call
