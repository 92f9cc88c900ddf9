"""nginx's upstream rules: an app 503 passes through; a Gunicorn really gone is skipped.

The configuration checks read both nginx files. The others drive the running test stack that
``make test`` starts: its nginx (rendered from deploy/nginx.conf.template), its two Gunicorns,
and a real shard server stopped, then started again.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from accounts.models import User
from deploy.localstack import inventory, processes, profiles
from deploy.localstack.app import Gunicorn
from instaclone.sharding.connections import shard_for_user
from instaclone.sharding.topology import current_topology

REPO = Path(__file__).resolve().parents[2]
CONFIGS = ("deploy/nginx.conf.template", "deploy/nginx.compose.conf")
needs_test_stack = pytest.mark.skipif(
    os.environ.get("INSTACLONE_PROFILE") != "test",
    reason="needs the test stack that `make test` brings up",
)
UNAVAILABLE = {
    "meta": {
        "code": 503,
        "error_type": "APIUnavailableError",
        "error_message": "Temporarily unavailable. Try again in a few seconds.",
    }
}


# --- both configurations ---------------------------------------------------------------------


def _upstream_rules(text: str) -> dict[str, list[str]]:
    """Return the upstream servers' parameters and the proxy retry and timeout directives."""
    block = re.search(r"^    upstream instaclone_app \{\n(.*?)^    \}", text, re.M | re.S)
    assert block, "no upstream instaclone_app block"
    servers = re.findall(r"^\s*server \S+(.*);$", block.group(1), re.M)
    zone = re.findall(r"^\s*(zone .*);$", block.group(1), re.M)
    location = text[text.index("        location / {") :]
    proxy = re.findall(
        r"^\s*(proxy_(?:next_upstream\w*|\w+_timeout|intercept_errors) .*);$", location, re.M
    )
    return {"zone": zone, "servers": servers, "proxy": proxy}


def test_both_nginx_configs_carry_the_same_upstream_rules() -> None:
    rules = {name: _upstream_rules((REPO / name).read_text()) for name in CONFIGS}

    assert rules[CONFIGS[0]] == rules[CONFIGS[1]]
    assert rules[CONFIGS[0]] == {
        # One state for all nginx workers: else each must meet a dead Gunicorn on its own.
        "zone": ["zone instaclone_app 64k"],
        "servers": [" max_fails=1 fail_timeout=10s"] * 2,
        "proxy": [
            "proxy_connect_timeout 1s",
            "proxy_send_timeout 35s",
            "proxy_read_timeout 35s",
            # No http_5xx: an answer from the app is never a failure; no non_idempotent: a
            # POST that reached a Gunicorn is never sent to the other one.
            "proxy_next_upstream error timeout",
            "proxy_next_upstream_tries 2",
            "proxy_next_upstream_timeout 40s",
        ],
    }


# --- the running test stack ------------------------------------------------------------------


def _request(port: int, path: str) -> tuple[int, dict[str, str], Any]:
    """GET ``path`` through ``port``; return the status, the headers and the JSON body or None."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        resp = conn.getresponse()
        body = resp.read()
        headers = {name.lower(): value for name, value in resp.getheaders()}
    finally:
        conn.close()
    try:
        return resp.status, headers, json.loads(body)
    except ValueError:
        return resp.status, headers, None


def _stack(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "deploy" / "stack.py"), *args, "--profile", "test"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _user_on(alias: str, make_user: Callable[..., User]) -> User:
    """Create public users until one lives on a shard of the server ``alias``."""
    topology = current_topology()
    for _ in range(40):
        user = make_user(name="nginx")
        if topology.server_for_shard(shard_for_user(user.id)) == alias:
            return user
    raise AssertionError(f"40 new users and none on {alias}")


@contextmanager
def _stopped(service: str) -> Iterator[None]:
    _stack("stop", service)
    try:
        yield
    finally:
        _stack("start", service)
        # This process's connections to the stopped server are dead: open new ones when needed.
        connections.close_all()


@needs_test_stack
@pytest.mark.e2e
def test_a_shard_server_down_answers_503_and_ejects_no_gunicorn(make_user) -> None:  # type: ignore[no-untyped-def]
    """The app's 503s for a stopped shard server reach the client; the others still get 200."""
    nginx = profiles.ports("test")["nginx"]
    far, near = _user_on("shards_1", make_user), _user_on("shards_0", make_user)
    assert _request(nginx, f"/v1/users/{far.id}/media/recent")[0] == 200

    with _stopped("postgres-1"):
        refused = [_request(nginx, f"/v1/users/{far.id}/media/recent") for _ in range(20)]
        health = [_request(nginx, "/healthz") for _ in range(5)]
        served = [_request(nginx, f"/v1/users/{near.id}/media/recent") for _ in range(20)]

    # Before the 503s themselves: with 503 counted as a failure these were 502, nginx's own.
    assert [(status, body and body["data"]) for status, _, body in served] == [(200, [])] * 20
    assert [(status, headers.get("retry-after"), body) for status, headers, body in refused] == [
        (503, "5", UNAVAILABLE)
    ] * 20
    assert [(status, body and body["status"]) for status, _, body in health] == [
        (503, "degraded")
    ] * 5
    assert {body["checks"]["postgres:shards_1"]["status"] for _, _, body in health} == {"down"}
    assert _request(nginx, f"/v1/users/{far.id}/media/recent")[0] == 200


def _gunicorn_pids(master: int) -> list[int]:
    """Return the master's pid and its workers' (the master forks them)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *(int(pid) for pid in children)]


def _ping_through_nginx(count: int) -> list[int]:
    nginx = profiles.ports("test")["nginx"]
    return [_request(nginx, "/healthz")[0] for _ in range(count)]


def _timeouts_logged(port: int, since: int) -> int:
    """Count the error-log lines, past byte ``since``, of reads from ``port`` that timed out."""
    text = inventory.services("test")["nginx"].logfile.read_bytes()[since:].decode(errors="replace")
    return len(re.findall(rf"upstream timed out .*upstream: \"http://127\.0\.0\.1:{port}/", text))


def _wait_answers(port: int) -> None:
    """Wait for the Gunicorn on ``port`` to answer /healthz with 200 itself."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if _request(port, "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the Gunicorn on {port} did not come back within 60 s")


def _wait_in_rotation(gunicorn: Gunicorn) -> None:
    """Wait until nginx sends requests to ``gunicorn`` again (a failure takes it out for 10 s)."""
    nginx = profiles.ports("test")["nginx"]
    served = gunicorn.access_log.stat().st_size
    deadline = time.monotonic() + 60
    while gunicorn.access_log.stat().st_size == served:
        assert time.monotonic() < deadline, f"nginx sent nothing to {gunicorn.name} within 60 s"
        _request(nginx, "/healthz")
        time.sleep(0.1)


@needs_test_stack
@pytest.mark.e2e
def test_nginx_routes_around_a_killed_gunicorn() -> None:
    """SIGKILL to a Gunicorn master and its workers: nginx sends every request to the other."""
    gunicorn = inventory.services("test")["gunicorn-0"]
    master = gunicorn.pid()
    assert master is not None, "gunicorn-0 is not running"
    pids = _gunicorn_pids(master)
    try:
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(processes.pid_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not processes.port_answers(gunicorn.port)

        assert _ping_through_nginx(20) == [200] * 20
    finally:
        _stack("start", "gunicorn-0")
    _wait_answers(gunicorn.port)


@needs_test_stack
@pytest.mark.e2e
def test_nginx_skips_a_frozen_gunicorn_after_one_timeout() -> None:
    """SIGSTOP to a Gunicorn: its connection is accepted but never answered. The request that
    meets it waits for the read timeout and is retried on the other; the next ones skip it."""
    gunicorn = inventory.services("test")["gunicorn-0"]
    assert isinstance(gunicorn, Gunicorn)
    master = gunicorn.pid()
    assert master is not None, "gunicorn-0 is not running"
    pids = _gunicorn_pids(master)
    _wait_in_rotation(gunicorn)  # else all 20 could pass before nginx tried it at all
    since = inventory.services("test")["nginx"].logfile.stat().st_size
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        answers = _ping_through_nginx(20)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    assert answers == [200] * 20
    assert _timeouts_logged(gunicorn.port, since) == 1
    _wait_answers(gunicorn.port)
