"""OWASP API8, security misconfiguration: what the running stack says about itself through nginx.

Every kind of answer (a page, an API error, a missing page, a refused host, a wrong method)
carries the browser-hardening headers, names no server version, and never shows Django's debug
page or a traceback. Pages a view renders also refuse framing; answers made before or after the
views (a refused host, an unknown /v1/ path, a wrong method) hold nothing worth framing and
today go without X-Frame-Options. Settings themselves are checked in
tests/instaclone/test_settings.py.
"""

from __future__ import annotations

import http.client
import os
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.e2e
APP_URL = urlsplit(os.environ.get("APP_URL", "http://127.0.0.1:18080"))
HARDENING = {
    "Server": "nginx",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Words only Django's debug pages and tracebacks print.
DEBUG_MARKS = ("Traceback", "URLconf", "DEBUG = True", "DisallowedHost", "settings.py")


def _ask(method: str, path: str, host: str | None = None) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection(APP_URL.hostname or "", APP_URL.port, timeout=10)
    try:
        headers = {"Host": host} if host else {}
        conn.request(method, path, headers=headers)
        answer = conn.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read().decode(errors="replace")
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("method", "path", "host", "status", "framing"),
    [
        ("GET", "/explore/", None, 200, "DENY"),
        ("GET", "/v1/users/self", None, 400, "DENY"),
        ("GET", "/no-such-account-here/", None, 404, "DENY"),
        ("GET", "/p/not-a-code!/", None, 404, "DENY"),
        ("GET", "/v1/no/such/route", None, 404, None),
        ("DELETE", "/v1/media/popular", None, 405, None),
        ("GET", "/explore/", "attacker.example", 400, None),
        ("GET", "/v1/media/popular", "attacker.example", 400, None),
    ],
)
def test_answers_carry_hardening_headers_and_no_debug_output(
    method: str, path: str, host: str | None, status: int, framing: str | None
) -> None:
    code, headers, body = _ask(method, path, host)

    assert code == status, body[:300]
    assert {name: headers.get(name) for name in HARDENING} == HARDENING
    if framing is not None:
        assert headers.get("X-Frame-Options") == framing
    for mark in DEBUG_MARKS:
        assert mark not in body, (path, mark)
