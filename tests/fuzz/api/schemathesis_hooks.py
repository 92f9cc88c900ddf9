"""Schemathesis hooks for the API fuzzing run (loaded by the CLI through SCHEMATHESIS_HOOKS).

- Uploads: the document says the photo is an image; random bytes only ever exercise the
  refusal, so half of the generated upload bodies carry a real small JPEG instead, and the
  fuzzer reaches the photo it posted (and its links) too. Hostile image bytes are the image
  fuzzer's job.
- Tally: every answer is counted by status and every answer that failed a check by the check's
  name, written as JSON to FUZZ_API_TALLY when the run ends, for the figures the test asserts.
"""

from __future__ import annotations

import atexit
import io
import json
import os
import threading
from collections import Counter
from typing import Any

import schemathesis
from hypothesis import strategies as st
from PIL import Image

UPLOAD_PATH = "/v1/media/upload"

_lock = threading.Lock()
_statuses: Counter[str] = Counter()
_failed_checks: Counter[str] = Counter()
_server_errors: list[str] = []


def _jpeg() -> bytes:
    image = Image.new("RGB", (320, 240), (30, 120, 200))
    image.paste((240, 180, 40), (100, 60, 220, 180))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


JPEG = _jpeg()


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
    """Give half of the generated uploads a real photo."""
    operation = context.operation
    if operation is None or operation.path != UPLOAD_PATH or not isinstance(body, dict):
        return st.just(body)
    return st.sampled_from([body, {**body, "photo": JPEG}])


@schemathesis.hook
def after_call(context: schemathesis.HookContext, case: schemathesis.Case, response: Any) -> None:
    """Count the answer by status; remember each 5xx's operation."""
    with _lock:
        _statuses[str(response.status_code)] += 1
        if response.status_code >= 500:
            _server_errors.append(f"{response.status_code} {case.method} {case.formatted_path}")


@schemathesis.hook
def after_validate(
    context: schemathesis.HookContext,
    case: schemathesis.Case,
    response: Any,
    results: list[schemathesis.CheckResult],
) -> None:
    """Count every failed check of every answer."""
    with _lock:
        for result in results:
            if result.failure is not None:
                _failed_checks[result.name] += 1


@atexit.register
def _write_tally() -> None:
    path = os.environ.get("FUZZ_API_TALLY")
    if not path:
        return
    with _lock, open(path, "w", encoding="utf-8") as out:
        json.dump(
            {
                "statuses": dict(_statuses),
                "failed_checks": dict(_failed_checks),
                "server_errors": _server_errors[:50],
            },
            out,
        )
