"""A real shard server stopped: its users get 503 with Retry-After, everyone else is served."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import pytest
from django.conf import settings
from django.db import connections

from accounts.models import User
from instaclone.sharding.connections import shard_for_user, target_for_shard
from tests.e2e.conftest import BASE

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
DOWN = "shards_1"  # the second Postgres server: logical shards only, no users database
STACK_NAME = {"shards_1": "postgres-1"}


def _stack(command: str, service: str) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "deploy" / "stack.py"), "--profile", "test", command, service],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )


def _answers(alias: str) -> bool:
    db = settings.DATABASES[alias]
    try:
        psycopg2.connect(
            host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=db["USER"], connect_timeout=2
        ).close()
    except psycopg2.OperationalError:
        return False
    return True


def _get(path: str, token: str) -> tuple[int, dict[str, str], dict[str, Any]]:
    """GET through nginx; the client's timeout turns a hang into a failure, not a wait."""
    address = urlsplit(BASE)
    conn = http.client.HTTPConnection(address.hostname, address.port, timeout=20)
    try:
        conn.request("GET", f"{path}?access_token={token}")
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read())
    finally:
        conn.close()


def _user_on(alias: str, make_user: Callable[..., User]) -> User:
    while True:
        user = make_user()
        if target_for_shard(shard_for_user(user.id)).alias == alias:
            return user


@pytest.fixture
def server_stopped() -> Iterator[Callable[[], None]]:
    """Return a stopper of the second shard server; it is started again (and answers) after."""
    stopped = False

    def stop() -> None:
        nonlocal stopped
        stopped = True
        _stack("stop", STACK_NAME[DOWN])
        assert not _answers(DOWN)

    try:
        yield stop
    finally:
        if stopped:
            _stack("start", STACK_NAME[DOWN])
            deadline = time.monotonic() + 60
            while not _answers(DOWN):
                assert time.monotonic() < deadline, f"{STACK_NAME[DOWN]} did not come back"
                time.sleep(0.2)
            # This process's own sessions to the server died with it.
            connections[DOWN].close()


def test_stopped_shard_server_answers_503_only_for_its_users(  # type: ignore[no-untyped-def]
    make_user, token_for, server_stopped
) -> None:
    affected, unaffected = _user_on(DOWN, make_user), _user_on("shards_0", make_user)
    token = token_for(unaffected)
    affected_path = f"/v1/users/{affected.id}/media/recent"
    unaffected_path = f"/v1/users/{unaffected.id}/media/recent"
    assert _get(affected_path, token)[0] == 200
    assert _get(unaffected_path, token)[0] == 200

    server_stopped()
    status, headers, body = _get(affected_path, token)
    assert (status, headers.get("Retry-After"), body) == (
        503,
        "5",
        {
            "meta": {
                "code": 503,
                "error_type": "APIUnavailableError",
                "error_message": "Temporarily unavailable. Try again in a few seconds.",
            }
        },
    )
    # The token, the user and their photos live on the first server: nothing changes for them,
    # whichever Gunicorn worker answers.
    for _ in range(6):
        status, _, body = _get(unaffected_path, token)
        assert (status, body["data"]) == (200, [])
