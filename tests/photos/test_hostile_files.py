"""Hostile uploads: each gets its exact answer, in under a second, growing memory under 256 MB.

The corpus runs in one child process (``python -m hostile``) so that each file can be given a
hard address-space cap and a fresh peak-memory reading; see ``hostile/runner.py``. A file that
kills or hangs the child is recorded as such and the rest run in a new child.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import hostile
import pillow_heif
import pytest
from hostile import ACCEPTED, CASES, CODES, MEMORY_LIMIT, TIME_LIMIT, Case, case_named
from PIL import Image

CORPUS = Path(hostile.__file__).resolve().parent
ROOT = CORPUS.parents[2]
# Far past TIME_LIMIT: the child's own alarm reports slow files; this catches a stuck decoder.
HANG_SECONDS = 60
# An accepted file is a real image; it must finish, on however loaded a machine, not hang.
ACCEPTED_TIME_LIMIT = 10.0
Result = dict[str, Any]  # a JSON object from the runner


def _lines(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def _run(names: list[str]) -> tuple[dict[str, Result], str]:
    """Run the named cases in a child; return their results and the child's stderr."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT), str(CORPUS.parent), os.environ.get("PYTHONPATH")])
        ),
        # One malloc arena: per-thread arenas reserve 64 MB of address space each, unused.
        "MALLOC_ARENA_MAX": "1",
    }
    child = subprocess.Popen(
        [sys.executable, "-m", CORPUS.name, *names],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(child.stdout, lines), daemon=True).start()
    results: dict[str, Result] = {}
    current = None
    while True:
        try:
            line = lines.get(timeout=HANG_SECONDS)
        except queue.Empty:
            child.kill()
            if current is None:
                raise RuntimeError(f"the corpus runner hung between cases: {names}") from None
            results[current] = {"outcome": "hung", "message": f"no answer in {HANG_SECONDS} s"}
            break
        if line is None:
            break
        record = json.loads(line)
        if "started" in record:
            current = record["started"]
        else:
            results[record["name"]] = record
            current = None
    child.wait()
    stderr = child.stderr.read()
    if current is not None and current not in results:
        message = f"the child died (exit status {child.returncode}): {stderr[-2000:]}"
        results[current] = {"outcome": "crashed", "message": message}
    return results, stderr


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Result]:
    """Return every case's result, running the corpus once (again after a crash or hang)."""
    results: dict[str, Result] = {}
    pending = [case.name for case in CASES]
    while pending:
        found, stderr = _run(pending)
        if not set(found) & set(pending):
            raise RuntimeError(f"the corpus runner answered nothing:\n{stderr}")
        results.update(found)
        pending = [name for name in pending if name not in results]
    return results


def _cases(kind: str | None = None) -> Iterator[Case]:
    return (case for case in CASES if kind is None or case.kind == kind)


def test_corpus_has_over_forty_distinct_cases_with_known_outcomes() -> None:
    names = [case.name for case in CASES]

    assert len(names) >= 40
    assert len(set(names)) == len(names)
    assert {case.expected for case in CASES} <= CODES | {ACCEPTED}
    assert {case.kind for case in CASES} >= {"bomb", "polyglot", "truncated", "foreign", "flood"}


def test_corpus_is_generated_the_same_in_every_process(outcomes: dict[str, Result]) -> None:
    for case in CASES:
        digest = hashlib.sha256(case.data()).hexdigest()
        assert digest == outcomes[case.name].get("sha256"), case.name


def test_bombs_are_small_files() -> None:
    for case in _cases("bomb"):
        assert len(case.data()) < 200_000, case.name


def test_polyglot_payloads_are_really_in_the_uploads() -> None:
    for case in _cases("polyglot"):
        data = case.data()
        assert all(payload in data for payload in case.payloads), case.name


def test_cut_files_closed_by_a_terminator_really_end_with_it() -> None:
    closed = [case for case in _cases("truncated") if case.name.endswith(("_eoi", "_trailer"))]

    assert len(closed) == 11
    for case in closed:
        assert case.data().endswith(b"\xff\xd9" if case.name.endswith("_eoi") else b";"), case.name


@pytest.mark.parametrize(
    "name",
    [
        *(case.name for case in _cases("truncated") if case.name.endswith("_with_eoi")),
        *(case.name for case in _cases("truncated") if case.name.endswith("_zero_filled")),
        "gif_first_frame_blocks_end_early",
    ],
)
def test_damaged_files_pillow_alone_decodes_without_an_error(name: str) -> None:
    # What the pipeline's own checks are for: left to Pillow, these would be posted.
    with Image.open(io.BytesIO(case_named(name).data()), formats=["JPEG", "GIF"]) as image:
        image.load()


@pytest.mark.filterwarnings("ignore:Tag data larger than file")  # the absurd EXIF counts
def test_files_meant_to_be_accepted_are_images_pillow_reads() -> None:
    for case in CASES:
        if case.expected != ACCEPTED or case.kind == "bomb":
            continue
        data = case.data()
        if data[4:12] == b"ftypheic":
            # Read without registering pillow-heif's opener: that is process-wide state.
            assert pillow_heif.open_heif(io.BytesIO(data)).to_pillow().size, case.name
            continue
        with Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "GIF", "WEBP"]) as image:
            image.load()


def test_foreign_images_are_real_images_of_other_formats() -> None:
    readable = {"bmp_image", "tiff_image", "ico_image", "psd_image", "jpeg2000_image", "avif_image"}
    assert readable <= {case.name for case in _cases("foreign")}  # no case drops out by a rename
    for case in _cases("foreign"):
        if case.name in readable:
            with Image.open(io.BytesIO(case.data())) as image:
                assert image.format not in ("JPEG", "PNG", "GIF", "WEBP", "HEIF"), case.name


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_file_gets_its_answer(case: Case, outcomes: dict[str, Result]) -> None:
    result = outcomes[case.name]

    assert result["outcome"] == case.expected, f"{case.why} -> {result}"
    if case.expected == ACCEPTED:
        assert list(result["renditions"]) == ["standard", "low", "thumbnail"]
        assert result["all_jpeg"] is True
        assert result["payloads_found"] == []
    else:
        assert isinstance(result["message"], str) and result["message"].strip()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_file_is_answered_within_a_second(case: Case, outcomes: dict[str, Result]) -> None:
    result = outcomes[case.name]

    assert "cpu_seconds" in result, result
    # Refusals must cost under a second (the rule), counted in CPU time: the work the
    # file makes us do, which a loaded machine does not stretch as it stretches wall time. A
    # file that is accepted is a real image; it only has to finish, not hang.
    limit = TIME_LIMIT if case.expected != ACCEPTED else ACCEPTED_TIME_LIMIT
    assert result["cpu_seconds"] < limit, f"{case.why} -> {result}"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_hostile_file_grows_memory_by_under_256_mb(case: Case, outcomes: dict[str, Result]) -> None:
    result = outcomes[case.name]

    assert result["outcome"] not in ("memory_error", "crashed", "hung"), result
    assert result["peak_rss_growth"] < MEMORY_LIMIT, f"{case.why} -> {result}"
