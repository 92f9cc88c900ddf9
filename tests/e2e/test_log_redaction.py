"""No access token reaches the access logs of nginx or Gunicorn, whichever way it was sent."""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings

from deploy.localstack.profiles import profile_dir
from tests.e2e.conftest import BASE

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("INSTACLONE_PROFILE") != "test",
        reason="needs the test stack that `make test` brings up",
    ),
]


def _get(path: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(BASE + path, headers=headers)  # noqa: S310 - our stack
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 - our stack
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _access_logs(since: dict[str, int] | None = None) -> dict[str, str]:
    """Return each access log's text (after the byte offsets ``since``)."""
    logs = profile_dir("test") / "logs"
    texts = {}
    for path in sorted(logs.glob("*.access.log")):
        data = path.read_bytes()
        texts[path.name] = data[(since or {}).get(path.name, 0) :].decode(errors="replace")
    return texts


def _settled_logs(offsets: dict[str, int], marker: str, count: int) -> dict[str, str]:
    """Return the logs' new text once nginx and Gunicorn logged ``count`` requests each.

    Both write a request's line after its answer is sent, so the client can read the logs
    before the last line is there; wait for it (bounded), then let the assertions judge.
    """
    deadline = time.monotonic() + 10
    while True:
        new = _access_logs(offsets)
        nginx = [line for line in new["nginx.access.log"].splitlines() if "/v1/users/self" in line]
        gunicorn = [
            line
            for name in ("gunicorn-0.access.log", "gunicorn-1.access.log")
            for line in new.get(name, "").splitlines()
            if marker in line
        ]
        if (len(nginx) >= count and len(gunicorn) >= count) or time.monotonic() > deadline:
            return new
        time.sleep(0.05)


def test_access_logs_hold_no_access_token(
    browser: Callable[[], Any], sign_up: Callable[[Any], str], api: Callable[..., Any]
) -> None:
    name = sign_up(browser())
    status, body = api(
        "POST",
        "/oauth/access_token",
        client_id=settings.FIRST_PARTY_CLIENT_ID,
        client_secret=settings.FIRST_PARTY_CLIENT_SECRET,
        grant_type="password",
        username=name,
        password="a long enough passphrase 42",
    )
    assert status == 200, body
    token = body["access_token"]
    made_up = uuid.uuid4().hex
    marker = uuid.uuid4().hex
    offsets = {name: len(text.encode()) for name, text in _access_logs().items()}

    answers = [
        _get(f"/v1/users/self?access_token={token}&marker={marker}", {}),
        # Twice in one query, and with the underscore percent-encoded (Django decodes it).
        _get(f"/v1/users/self?marker={marker}&access_token={token}&access_token={token}", {}),
        _get(f"/v1/users/self?access%5Ftoken={token}&marker={marker}", {}),
        _get(
            f"/v1/users/self?marker={marker}&access_token={made_up}",
            {"Referer": f"https://example.com/page?x=1&access_token={token}"},
        ),
    ]

    assert answers == [200, 200, 200, 400]
    new = _settled_logs(offsets, marker, len(answers))
    logs = _access_logs()
    assert sorted(logs) == ["gunicorn-0.access.log", "gunicorn-1.access.log", "nginx.access.log"]
    for log_name, text in logs.items():
        assert token not in text, log_name
        assert made_up not in text, log_name
    # The requests did reach both logs: nginx keeps their path without the query ...
    ours = [line for line in new["nginx.access.log"].splitlines() if "/v1/users/self" in line]
    assert [line.split('"')[1] for line in ours] == [
        "GET /v1/users/self?[withheld: access_token] HTTP/1.1"
    ] * 4
    assert [line.split('"')[3] for line in ours] == [
        "-",
        "-",
        "-",
        "https://example.com/page?[withheld: access_token]",
    ]
    # ... and Gunicorn keeps the query with the token values blanked.
    gunicorn = [
        line.split('"')[1]
        for name in ("gunicorn-0.access.log", "gunicorn-1.access.log")
        for line in new[name].splitlines()
        if marker in line
    ]
    assert sorted(gunicorn) == sorted(
        [
            f"GET /v1/users/self?access_token=[redacted]&marker={marker} HTTP/1.0",
            f"GET /v1/users/self?marker={marker}&access_token=[redacted]"
            "&access_token=[redacted] HTTP/1.0",
            f"GET /v1/users/self?access%5Ftoken=[redacted]&marker={marker} HTTP/1.0",
            f"GET /v1/users/self?marker={marker}&access_token=[redacted] HTTP/1.0",
        ]
    )
