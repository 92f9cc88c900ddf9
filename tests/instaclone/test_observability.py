"""Errors reach a loopback stand-in for Sentry's ingest with every secret scrubbed."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, cast

import pytest
import sentry_sdk

from instaclone.observability import (
    FILTERED,
    init_sentry,
    scrub_breadcrumb,
    scrub_event,
    scrub_text,
)
from tests.sentry_ingest import SentryIngest, running_ingest

if TYPE_CHECKING:
    from sentry_sdk._types import Event

HEX64 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


@pytest.fixture
def ingest() -> Iterator[SentryIngest]:
    with running_ingest() as server:
        yield server


@pytest.fixture(autouse=True)
def _sentry_restored(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the process-global Sentry client from leaking between tests."""
    for name in ("SENTRY_DSN", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    yield
    sentry_sdk.get_client().close(timeout=2)
    sentry_sdk.get_global_scope().set_client(None)


def test_init_sentry_without_dsn_returns_false_and_sends_nothing(
    ingest: SentryIngest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The SDK falls back to $SENTRY_DSN when handed no DSN; an empty setting must not reach it.
    monkeypatch.setenv("SENTRY_DSN", ingest.dsn)

    assert init_sentry(dsn="", environment="test") is False

    assert sentry_sdk.get_client().is_active() is False
    sentry_sdk.capture_message("nobody should receive this")
    sentry_sdk.flush(timeout=2)
    assert ingest.bodies == []


def _push_to_device(device_token: str, password: str) -> None:
    # Both arguments are frame locals: they must not travel with the stack trace.
    raise RuntimeError(f"APNs rejected device {device_token}")


def test_captured_exception_reaches_ingest_without_secrets(ingest: SentryIngest) -> None:
    leaks = {
        "password": secrets.token_urlsafe(12),
        "access_token": secrets.token_urlsafe(24),
        "bearer": secrets.token_urlsafe(24),
        "session": secrets.token_hex(16),
        "csrf": secrets.token_urlsafe(24),
        "client_secret": secrets.token_urlsafe(24),
        "device_token": secrets.token_hex(32),
        "camera_serial": f"SN{secrets.token_hex(5)}",
        "latitude": repr(float(f"37.{100_000 + secrets.randbelow(800_000)}1")),
        "longitude": repr(float(f"-122.{100_000 + secrets.randbelow(800_000)}1")),
    }
    marker = f"marker-{secrets.token_hex(6)}"
    gps = {"GPSLatitude": float(leaks["latitude"]), "GPSLongitude": float(leaks["longitude"])}
    exif = {"Make": "Apple", "BodySerialNumber": leaks["camera_serial"], "GPSInfo": gps}

    def add_request(event: Event, hint: dict[str, Any]) -> Event:
        # Shaped like DjangoIntegration's request processor output.
        event["request"] = {
            "method": "POST",
            "url": "http://testserver/v1/media/upload",
            "query_string": f"access_token={leaks['access_token']}&count=20",
            "headers": {
                "Authorization": f"Bearer {leaks['bearer']}",
                "Cookie": f"sessionid={leaks['session']}; csrftoken={leaks['csrf']}",
                "User-Agent": "Instaclone/1.0 (iPhone)",
            },
            "cookies": {"sessionid": leaks["session"], "csrftoken": leaks["csrf"]},
            "data": {
                "username": "alice",
                "password": leaks["password"],
                "client_secret": leaks["client_secret"],
            },
        }
        return event

    assert init_sentry(dsn=ingest.dsn, environment="test", release="instaclone@1.2.3") is True
    with sentry_sdk.isolation_scope() as scope:
        scope.add_event_processor(add_request)
        scope.set_extra("marker", marker)
        scope.set_extra("exif", exif)
        scope.set_extra("upload", {"photo_id": 4242, "note": f"push to {leaks['device_token']}"})
        scope.set_context("photo", {"id": 4242, "exif": exif, "gps": gps})
        scope.set_context("oauth", {"client_secret": leaks["client_secret"], "grant": "code"})
        sentry_sdk.add_breadcrumb(
            category="httplib",
            data={"url": f"https://api.test/v1/users/self?access_token={leaks['access_token']}"},
        )
        sentry_sdk.add_breadcrumb(
            category="auth", message=f"Authorization: Bearer {leaks['bearer']}"
        )
        logging.getLogger("accounts.login").warning("login failed password=%s", leaks["password"])
        try:
            _push_to_device(leaks["device_token"], leaks["password"])
        except RuntimeError:
            event_id = sentry_sdk.capture_exception()
    sentry_sdk.flush(timeout=5)
    event = ingest.wait_for_event()

    raw = b"".join(ingest.bodies)
    assert [name for name, value in leaks.items() if value.encode() in raw] == []
    assert marker.encode() in raw
    assert ingest.paths[0] == "/api/1/envelope/"
    assert "sentry_key=publickey" in ingest.auth_headers[0]
    assert (event["event_id"], event["environment"], event["release"]) == (
        event_id,
        "test",
        "instaclone@1.2.3",
    )
    request = event["request"]
    assert request["query_string"] == f"access_token={FILTERED}&count=20"
    assert request["headers"] == {
        "Authorization": FILTERED,
        "Cookie": FILTERED,
        "User-Agent": "Instaclone/1.0 (iPhone)",
    }
    assert request["cookies"] == FILTERED
    assert request["data"] == {"username": "alice", "password": FILTERED, "client_secret": FILTERED}
    assert event["extra"]["marker"] == marker
    assert event["extra"]["exif"] == FILTERED
    assert event["extra"]["upload"] == {"photo_id": 4242, "note": f"push to {FILTERED}"}
    assert event["contexts"]["photo"] == {"id": 4242, "exif": FILTERED, "gps": FILTERED}
    assert event["contexts"]["oauth"] == {"client_secret": FILTERED, "grant": "code"}
    (exception,) = event["exception"]["values"]
    assert exception["value"] == f"APNs rejected device {FILTERED}"
    assert [f for f in exception["stacktrace"]["frames"] if "vars" in f] == []
    crumbs = {crumb["category"]: crumb for crumb in event["breadcrumbs"]["values"]}
    assert crumbs["httplib"]["data"] == {
        "url": f"https://api.test/v1/users/self?access_token={FILTERED}"
    }
    assert crumbs["auth"]["message"] == f"Authorization: Bearer {FILTERED}"
    assert crumbs["accounts.login"]["message"] == f"login failed password={FILTERED}"


def test_scrub_event_cleans_django_request_frames_and_spans() -> None:
    event: dict[str, Any] = {
        "event_id": "0123456789abcdef0123456789abcdef",
        "request": {
            "url": "https://instaclone.test/v1/users/self/feed",
            "query_string": "count=10&access_token=tok.abc.123&max_id=99",
            "headers": {
                "X-Csrftoken": "csrf-value",
                "X-Apns-Token": HEX64,
                "Proxy-Authorization": "Basic YWxpY2U6aHVudGVyMg==",
                "Accept": "application/json",
            },
            "env": {"SERVER_NAME": "web1", "SERVER_PORT": "8000"},
            "data": "username=alice&password=hunter2&caption=sunset",
        },
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": '{"password": "correct horse", "photo_id": 7}',
                    "stacktrace": {
                        "frames": [
                            {
                                "function": "photo_upload",
                                "vars": {
                                    "request": "<WSGIRequest: GET '/v1/?access_token=s3cr3t'>",
                                    "token": "abc",
                                    "photo_id": 7,
                                },
                            }
                        ]
                    },
                }
            ]
        },
        "spans": [{"description": "SET feed:7", "data": {"db.params": [HEX64, 7]}}],
        "extra": {"photo": {"exif": {"Orientation": 6}, "caption": "at the beach"}},
    }

    scrubbed: dict[str, Any] = dict(scrub_event(cast("Event", event), {}))

    assert scrubbed["event_id"] == "0123456789abcdef0123456789abcdef"
    assert scrubbed["request"] == {
        "url": "https://instaclone.test/v1/users/self/feed",
        "query_string": f"count=10&access_token={FILTERED}&max_id=99",
        "headers": {
            "X-Csrftoken": FILTERED,
            "X-Apns-Token": FILTERED,
            "Proxy-Authorization": FILTERED,
            "Accept": "application/json",
        },
        "env": {"SERVER_NAME": "web1", "SERVER_PORT": "8000"},
        "data": f"username=alice&password={FILTERED}&caption=sunset",
    }
    (exception,) = scrubbed["exception"]["values"]
    assert exception["value"] == f'{{"password": "{FILTERED}", "photo_id": 7}}'
    assert exception["stacktrace"]["frames"][0]["vars"] == {
        "request": f"<WSGIRequest: GET '/v1/?access_token={FILTERED}'>",
        "token": FILTERED,
        "photo_id": 7,
    }
    assert scrubbed["spans"] == [
        {"description": "SET feed:7", "data": {"db.params": [FILTERED, 7]}}
    ]
    assert scrubbed["extra"] == {"photo": {"exif": FILTERED, "caption": "at the beach"}}


def test_scrub_breadcrumb_cleans_message_and_data() -> None:
    crumb = {
        "category": "redis",
        "message": f"SADD devices:42 {HEX64}",
        "data": {"push_token": "abc", "db.statement": "SELECT 1", "GPSLatitude": 37.77},
    }

    assert scrub_breadcrumb(crumb, {}) == {
        "category": "redis",
        "message": f"SADD devices:42 {FILTERED}",
        "data": {"push_token": FILTERED, "db.statement": "SELECT 1", "GPSLatitude": FILTERED},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /v1/tags/x?access_token=a.b-c&count=5",
            f"GET /v1/tags/x?access_token={FILTERED}&count=5",
        ),
        ("client_secret=xyz&grant_type=code", f"client_secret={FILTERED}&grant_type=code"),
        ("Authorization: Bearer abcdEFGH1234", f"Authorization: Bearer {FILTERED}"),
        ("sessionid=abc; csrftoken=def", f"sessionid={FILTERED}; csrftoken={FILTERED}"),
        ("{'password': 'hunter 2'}", f"{{'password': '{FILTERED}'}}"),
        (
            "X-Amz-Signature=deadbeef&X-Amz-Expires=60",
            f"X-Amz-Signature={FILTERED}&X-Amz-Expires=60",
        ),
        (f"/3/device/{HEX64}", f"/3/device/{FILTERED}"),
        (HEX64.upper(), FILTERED),
        # Not secrets: must survive so errors stay readable.
        ("event 0123456789abcdef0123456789abcdef", "event 0123456789abcdef0123456789abcdef"),
        (f"sha512 {HEX64}{HEX64}", f"sha512 {HEX64}{HEX64}"),
        ("token expired for user 42", "token expired for user 42"),
        ("photo 2899201384737 liked by author_id=7", "photo 2899201384737 liked by author_id=7"),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    assert scrub_text(text) == expected
