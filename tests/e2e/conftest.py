"""End-to-end helpers: a cookie-keeping HTTP browser, a headless Chromium, fresh accounts."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from accounts.models import User
from instaclone.sharding.redis_client import redis_client

if TYPE_CHECKING:
    from playwright.sync_api import Browser as Chromium
    from playwright.sync_api import BrowserContext, Page

BASE = os.environ.get("APP_URL", "http://127.0.0.1:18080")
# Debian's chromium package: Playwright's own browser build is a download this machine cannot make.
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless as root, and quiet: without the background-networking flags Chromium keeps calling
# Google, which this machine refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_TIMEOUT_MS = 10_000  # a broken page fails in seconds, not after Playwright's 30
ARTIFACTS = Path(__file__).parent / "artifacts"


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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell a failed test at teardown."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """Start Debian's Chromium headless through Playwright, once for the session."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            f"no browser at {CHROMIUM}: the browser tests drive Debian's chromium package, "
            "which `make test` (deploy/bootstrap.sh) installs",
            pytrace=False,
        )
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail(
            "the playwright package is missing from .venv: run `bash deploy/bootstrap.sh`",
            pytrace=False,
        )
    expect.set_options(timeout=BROWSER_TIMEOUT_MS)
    # Playwright's sync API leaves its event loop marked as running in this thread between
    # calls, which trips Django's guard against the ORM inside a coroutine (the `names`
    # clean-up, and every later test of the session). Nothing in this project runs as a
    # coroutine, so the guard is off while the driver lives, and back on when it stops.
    allow_before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            yield browser
            browser.close()
    finally:
        if allow_before is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allow_before


def _artifact_stem(request: pytest.FixtureRequest) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Return a saver of full-page screenshots into artifacts/, named after the test."""
    stem = _artifact_stem(request)
    ARTIFACTS.mkdir(exist_ok=True)
    for stale in ARTIFACTS.glob(f"{stem}--*.png"):
        stale.unlink()
    taken = 0

    def save(page: Page, label: str) -> Path:
        nonlocal taken
        taken += 1
        path = ARTIFACTS / f"{stem}--{taken:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save


@pytest.fixture
def person(
    chromium: Chromium,
    names: list[str],
    screenshot: Callable[[Page, str], Path],
    request: pytest.FixtureRequest,
) -> Iterator[Callable[[], Page]]:
    """Return a maker of pages, each in a fresh browser context (its own cookies: one person)."""
    contexts: list[BrowserContext] = []

    def new_person() -> Page:
        context = chromium.new_context(base_url=BASE, viewport={"width": 1000, "height": 800})
        context.set_default_timeout(BROWSER_TIMEOUT_MS)
        context.set_default_navigation_timeout(BROWSER_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield new_person
    report = getattr(request.node, "report_call", None)
    failed = report is not None and report.failed
    for number, context in enumerate(contexts, start=1):
        if failed:
            for page in context.pages:
                screenshot(page, f"failed-person{number}")
        context.close()
