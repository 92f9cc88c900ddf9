"""The benchmark runner's exit status: ``--strict`` fails the run when any row misses its goal."""

from __future__ import annotations

import sys
import types

import pytest

from tests.bench import __main__ as runner
from tests.bench import harness
from tests.bench.harness import BenchResult, Row, exit_status


def _result(*met: bool | None) -> BenchResult:
    return BenchResult(
        "b", rows=[Row("b", f"s{i}", "base", 1.0, goal="<= 1", met=m) for i, m in enumerate(met)]
    )


def test_exit_status_fails_a_missed_goal_only_when_strict() -> None:
    missed = [_result(True, None), _result(False)]
    met = [_result(True, None), _result(True)]
    assert exit_status(missed, crashed=[], strict=False) == 0
    assert exit_status(missed, crashed=[], strict=True) == 1
    assert exit_status(met, crashed=[], strict=True) == 0
    assert exit_status(met, crashed=["feed"], strict=False) == 1


@pytest.fixture
def fake_benchmarks(monkeypatch, tmp_path, live_db):  # type: ignore[no-untyped-def]
    """Register two instant benchmarks (one meets its goal, one misses it); results go to tmp."""
    for name, met in (("meets", True), ("misses", False)):
        module = types.ModuleType(f"fake_bench_{name}")
        module.run = lambda name=name, met=met: BenchResult(  # type: ignore[attr-defined]
            name, rows=[Row(name, "subject", "baseline", 1.2, goal="<= 1.0", met=met)]
        )
        monkeypatch.setitem(sys.modules, module.__name__, module)
        monkeypatch.setitem(runner.BENCHMARKS, name, module.__name__)
    monkeypatch.setattr(harness, "RESULTS_DIR", tmp_path)
    return tmp_path


def test_strict_run_exits_non_zero_when_a_row_misses_its_goal(fake_benchmarks, capsys) -> None:  # type: ignore[no-untyped-def]
    assert runner.main(["--strict", "meets", "misses"]) == 1
    out = capsys.readouterr().out
    assert "  - misses: ratio 1.20, goal <= 1.0 (subject)" in out
    assert "--strict: 1 goal(s) missed, failing the run" in out
    assert (fake_benchmarks / "latest.json").exists()


def test_plain_run_still_exits_zero_when_a_goal_is_missed(fake_benchmarks, capsys) -> None:  # type: ignore[no-untyped-def]
    assert runner.main(["misses"]) == 0
    assert "GOALS MISSED:" in capsys.readouterr().out


def test_strict_run_exits_zero_when_every_goal_is_met(fake_benchmarks, capsys) -> None:  # type: ignore[no-untyped-def]
    assert runner.main(["meets", "--strict"]) == 0
    assert "All checked goals met." in capsys.readouterr().out
