"""A loopback stand-in for Sentry's ingest: accepts envelopes and keeps their decoded bodies."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class SentryIngest(http.server.ThreadingHTTPServer):
    """Accept envelopes the way Sentry's ingest does and keep their decoded bodies."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _IngestHandler)
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        self.auth_headers: list[str] = []
        self.changed = threading.Condition()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server_address[1]}/1"

    def wait_for_event(self, timeout: float = 10.0) -> dict[str, Any]:
        """Return the first event item received, waiting up to ``timeout`` seconds."""
        with self.changed:
            self.changed.wait_for(lambda: events_in(self.bodies), timeout=timeout)
            events = events_in(self.bodies)
        assert events, f"no event reached the ingest; bodies: {self.bodies!r}"
        return events[0]


class _IngestHandler(http.server.BaseHTTPRequestHandler):
    server: SentryIngest

    def do_POST(self) -> None:  # the name http.server dispatches to
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "deflate":
            body = zlib.decompress(body)
        elif encoding == "br":
            import brotli  # only present when the SDK chose it, so only imported then

            body = brotli.decompress(body)
        with self.server.changed:
            self.server.bodies.append(body)
            self.server.paths.append(self.path)
            self.server.auth_headers.append(self.headers.get("X-Sentry-Auth", ""))
            self.server.changed.notify_all()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


def parse_envelope(body: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], bytes]]]:
    """Split an envelope into its header and (item header, payload) pairs."""
    header_line, _, rest = body.partition(b"\n")
    items = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length + 1 :]
        items.append((item_header, payload))
    return json.loads(header_line), items


def events_in(bodies: list[bytes]) -> list[dict[str, Any]]:
    return [
        json.loads(payload)
        for body in bodies
        for header, payload in parse_envelope(body)[1]
        if header.get("type") == "event"
    ]


@contextmanager
def running_ingest() -> Iterator[SentryIngest]:
    """Serve a SentryIngest on a free loopback port while the block runs."""
    server = SentryIngest()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
