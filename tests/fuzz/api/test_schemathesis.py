"""Schemathesis over /v1/openapi.json through nginx: no 5xx, no answer the document does not hold.

The fuzzer gets a token with every scope settings declare, and data to reach: its user with a few
photos (liked and commented on), a second user it follows and who follows back. Every phase
runs (the document's examples, coverage, random fuzzing, and stateful sequences over the
document's links), with every check Schemathesis has.

Inside `make test` this is a short run (about 500 cases, a fixed seed). `make fuzz-api` sets
FUZZ_API_SCALE=full for the long run (at least 10,000 cases) and prints the same figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings
from schemathesis_hooks import JPEG

from accounts.models import User

APP = os.environ.get("APP_URL", "http://127.0.0.1:18080")
HERE = Path(__file__).parent
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        os.environ.get("INSTACLONE_PROFILE") != "test",
        reason="needs the test stack that `make test` brings up",
    ),
]


@dataclass(frozen=True)
class Run:
    """One Schemathesis invocation: its phases and its examples per operation."""

    phases: str
    max_examples: int


@dataclass(frozen=True)
class Scale:
    """How long a run is: its invocations, their seed, the cases it must reach at least."""

    runs: tuple[Run, ...]
    seed: int
    min_cases: int


# A server error, or an answer the document does not describe: its status, content type, headers
# or body.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
# The stateful phase runs on its own: after the others in one invocation, Schemathesis 4.32 ran
# it for a few dozen scenarios only, whatever --max-examples said; alone it runs them all.
SCALES = {
    # The coverage phase alone sends some 600 deterministic cases: the short run leaves it to
    # the long one.
    # About 600 cases; how many stateful scenarios run varies with the answers, hence the margin.
    "short": Scale(
        runs=(Run("examples,fuzzing", 12), Run("stateful", 40)), seed=20261204, min_cases=250
    ),
    "full": Scale(
        runs=(Run("examples,coverage,fuzzing", 420), Run("stateful", 400)),
        seed=20261204,
        min_cases=10_000,
    ),
}


def _scopes() -> str:
    return " ".join(settings.OAUTH2_PROVIDER["SCOPES"])


def _call(method: str, path: str, token: str, **kwargs: Any) -> Any:
    response = requests.request(
        method, APP + path, headers={"Authorization": f"Bearer {token}"}, timeout=30, **kwargs
    )
    assert response.status_code == 200, (method, path, response.status_code, response.text)
    return response.json()["data"]


def _seed(owner_token: str, friend: User, friend_token: str) -> None:
    """Give the fuzzer's user photos with likes and comments, and a friend both ways."""
    photo_ids = []
    for number in range(3):
        media = _call(
            "POST",
            "/v1/media/upload",
            owner_token,
            data={"caption": f"fuzz #fuzzing photo {number}"},
            files={"photo": ("p.jpg", JPEG, "image/jpeg")},
        )
        photo_ids.append(media["id"])
    for photo_id in photo_ids:
        for token in (owner_token, friend_token):
            _call("POST", f"/v1/media/{photo_id}/likes", token)
            _call("POST", f"/v1/media/{photo_id}/comments", token, data={"text": "nice #fuzzing"})
    _call("POST", f"/v1/users/{friend.id}/relationship", owner_token, data={"action": "follow"})
    owner_id = _call("GET", "/v1/users/self", owner_token)["id"]
    _call("POST", f"/v1/users/{owner_id}/relationship", friend_token, data={"action": "follow"})


def run_schemathesis(token: str, run: Run, seed: int, workdir: Path) -> dict[str, Any]:
    """Run the Schemathesis CLI against the stack; return its report and the answers' tally."""
    workdir.mkdir()
    report, tally = workdir / "report.json", workdir / "tally.json"
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{APP}/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(run.max_examples),
        "--seed",
        str(seed),
        "--phases",
        run.phases,
        "--generation-database",
        "none",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "schemathesis_hooks",
        "PYTHONPATH": str(HERE),
        "FUZZ_API_TALLY": str(tally),
    }
    started = time.monotonic()
    # In workdir: Schemathesis keeps a cache of crashes in its working directory.
    finished = subprocess.run(
        command, env=env, cwd=workdir, capture_output=True, text=True, timeout=3600
    )
    elapsed = time.monotonic() - started
    output = finished.stdout + finished.stderr
    return {
        "command": command,
        "exit_code": finished.returncode,
        "output": output,
        "report": json.loads(report.read_text()) if report.exists() else None,
        "tally": json.loads(tally.read_text()) if tally.exists() else None,
        "seconds": elapsed,
    }


@pytest.fixture
def fuzz_token(make_user, token_for) -> str:  # type: ignore[no-untyped-def]
    """Return a token with every scope for a user with photos, likes, comments and a friend."""
    owner, friend = make_user(name="fuzz"), make_user(name="fuzzfriend")
    owner_token = token_for(owner, scope=_scopes())
    _seed(owner_token, friend, token_for(friend, scope=_scopes()))
    return owner_token


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(
    fuzz_token: str, tmp_path: Path
) -> None:
    scale = SCALES[os.environ.get("FUZZ_API_SCALE", "short")]
    results = [
        run_schemathesis(fuzz_token, run, scale.seed, tmp_path / f"run{number}")
        for number, run in enumerate(scale.runs)
    ]
    for result in results:
        print(result["output"])
    totals = figures(results)
    print(summary_line(totals, seed=scale.seed))

    for result in results:
        report, tally = result["report"], result["tally"]
        assert report is not None and tally is not None, result["output"][-5000:]
        assert tally["server_errors"] == [], tally["server_errors"]
        assert report["failures"] == [], result["output"][-20000:]
        assert report["errors"] == [], result["output"][-20000:]
        assert result["exit_code"] == 0, result["output"][-20000:]
        assert {status["status"] for status in report["phases"].values()} <= {"success", "skip"}
    assert totals["server_errors"] == 0
    assert totals["violations"] == 0
    assert totals["cases"] >= scale.min_cases
    stateful = results[-1]["report"]["phases"]["stateful"]
    assert stateful["status"] == "success", stateful


def figures(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the figures of a run's invocations added up."""
    statuses: Counter[str] = Counter()
    for result in results:
        statuses.update(result["tally"]["statuses"])
    reports = [result["report"] for result in results]
    return {
        "version": reports[0]["schemathesis_version"],
        "cases": sum(report["test_cases"]["generated"] for report in reports),
        "answers": sum(statuses.values()),
        "statuses": dict(sorted(statuses.items())),
        "server_errors": sum(n for status, n in statuses.items() if status.startswith("5")),
        # Failures of the conformance checks: status code, content type, headers, body.
        "violations": sum(
            group["count"]
            for report in reports
            for group in report["failures"]
            if group["code"] != "ST101"
        ),
        "seconds": sum(result["seconds"] for result in results),
    }


def summary_line(totals: dict[str, Any], *, seed: int) -> str:
    """Return the figures in one line, as the README quotes them."""
    return (
        f"schemathesis {totals['version']}, seed {seed}: {totals['cases']} cases, "
        f"{totals['answers']} answers {json.dumps(totals['statuses'])}, "
        f"{totals['server_errors']} answers of 5xx, {totals['violations']} schema violations, "
        f"wall time {totals['seconds']:.0f} s"
    )
