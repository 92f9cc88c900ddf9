"""A short run of the image fuzzer: a few hundred mutated inputs, fixed seed, no time limit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INPUTS = 300


def test_a_short_fuzz_run_finds_only_refusals_and_valid_pictures(tmp_path: Path) -> None:
    # CPU time is not judged here (--hang-seconds 0); a stuck input still fails the run.
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.images",
            f"--inputs={INPUTS}",
            "--workers=1",
            "--seed=7",
            "--hang-seconds=0",
            f"--results={tmp_path}",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "instaclone.settings.test"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    (summary_path,) = tmp_path.glob("*/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["inputs"] == INPUTS + summary["seeds"]
    assert summary["accepted"] + sum(summary["refused"].values()) == summary["inputs"]
    assert (summary["crashes"], summary["hangs"], summary["other"]) == (0, 0, 0)
    assert summary["findings"] == []
    assert summary["unfinished"] == 0
