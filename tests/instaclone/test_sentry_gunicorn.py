"""A real crash in a real Gunicorn reaches the loopback Sentry ingest with every secret scrubbed.

The test stack's Gunicorns report to no Sentry, so the test starts its own, with the test stack's
environment, ``SENTRY_DSN`` pointing at the ingest and a settings module that adds ``/_crash``.
"""

from __future__ import annotations

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from deploy.localstack.profiles import profile_env
from instaclone.observability import FILTERED
from tests.sentry_ingest import SentryIngest, running_ingest

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(port: int, method: str, target: str, **options: object) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, target, **options)  # type: ignore[arg-type]
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.fixture
def gunicorn_with_sentry(tmp_path: Path) -> Iterator[tuple[int, SentryIngest]]:
    """Start a one-worker Gunicorn reporting to a fresh ingest; stop it after the test."""
    with running_ingest() as ingest:
        port = _free_port()
        env = {
            **os.environ,
            **profile_env("test"),
            "DJANGO_SETTINGS_MODULE": "tests.instaclone.sentry_crash_settings",
            "SENTRY_DSN": ingest.dsn,
            "SENTRY_ENVIRONMENT": "gunicorn-test",
            "API_RATE_LIMIT_PER_HOUR": "1000000",
        }
        for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
            env.pop(name, None)
        log = tmp_path / "gunicorn.log"
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "instaclone.wsgi:application",
                "-c",
                str(REPO / "deploy" / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--chdir",
                str(REPO),
                "--error-logfile",
                str(log),
                "--access-logfile",
                str(log),
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        try:
            # Bounded wait for the worker to import the app and answer (ping wants a token: 400).
            deadline = time.monotonic() + 90
            while True:
                assert process.poll() is None, f"gunicorn exited:\n{log.read_text()}"
                try:
                    assert _request(port, "GET", "/v1/ping").status == 400
                    break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"gunicorn never answered:\n{log.read_text()}"
                time.sleep(0.2)
            yield port, ingest
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_crash_in_gunicorn_reaches_ingest_scrubbed(gunicorn_with_sentry) -> None:  # type: ignore[no-untyped-def]
    port, ingest = gunicorn_with_sentry
    leaks = {
        "access_token": secrets.token_urlsafe(24),
        "bearer": secrets.token_urlsafe(24),
        "session": secrets.token_hex(16),
        "csrf": secrets.token_urlsafe(24),
        "password": secrets.token_urlsafe(12),
    }
    query = urlencode({"access_token": leaks["access_token"], "count": "20"})
    response = _request(
        port,
        "POST",
        f"/_crash?{query}",
        body=urlencode({"username": "alice", "password": leaks["password"]}),
        headers={
            "Authorization": f"Bearer {leaks['bearer']}",
            "Cookie": f"sessionid={leaks['session']}; csrftoken={leaks['csrf']}",
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Instaclone/1.0 (iPhone)",
        },
    )
    assert response.status == 500

    event = ingest.wait_for_event(timeout=30)
    raw = b"".join(ingest.bodies)
    assert [name for name, value in leaks.items() if value.encode() in raw] == []
    assert event["environment"] == "gunicorn-test"
    (exception,) = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == f"feed store refused access_token={FILTERED}"
    assert exception["mechanism"]["type"] == "django"
    assert [f for f in exception["stacktrace"]["frames"] if "vars" in f] == []
    assert event["request"] == {
        "url": f"http://127.0.0.1:{port}/_crash",
        "method": "POST",
        "env": {"SERVER_NAME": "127.0.0.1", "SERVER_PORT": str(port)},
        "headers": {
            "Host": f"127.0.0.1:{port}",
            "Accept-Encoding": "identity",
            "Content-Length": "40",
            "Authorization": FILTERED,
            "Cookie": FILTERED,
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Instaclone/1.0 (iPhone)",
        },
        "query_string": f"access_token={FILTERED}&count=20",
        "data": "",  # max_request_body_size="never": the body stays home
    }
