"""Same spec, same bytes (issue #22 item 7): a comparison with weight-sharing methods run twice, and run once killed
and resumed, writes byte-identical artefacts; only timing.csv (measured seconds) may differ. The equal-cost columns
come from counted work, not from seconds."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "jobs"))
import experiment_jobfns as fns  # the kill-and-resume driver the job tests share

SPEC = """
name: determinism
output: run
space: {name: nb201, ops: [skip_connect, nor_conv_1x1, nor_conv_3x3]}
evaluators:
  truth: {kind: table, path: embedded, metric: test_acc}
analyses:
  - kind: compare
    evaluator: truth
    strategies: [random, gdas, spos_evolution]
    budget: 5
    seeds: 1
    within_truth: true
    weight_sharing: {epochs: 1, rank_set: 6, rank_images: 50, methods: {spos_evolution: {evolution_budget: 3}}}
"""

DRIVER = """
from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
run_spec(load_spec({spec!r}))
"""

#: measured seconds: the one file documented as machine-dependent
NOT_DETERMINISTIC = {"timing.csv"}


def artefacts(run: Path) -> dict[str, bytes]:
    """Every file of the run's section folders, spec.json and report.html (not the store nor the scratch folder
    of checkpoints), by path relative to the run folder."""
    files = [run / "spec.json", run / "report.html"]
    files += [p for folder in sorted(run.glob("[0-9][0-9]-*")) for p in sorted(folder.rglob("*")) if p.is_file()]
    return {str(p.relative_to(run)): p.read_bytes() for p in files if p.name not in NOT_DETERMINISTIC}


def run_in(folder: Path) -> Path:
    folder.mkdir()
    (folder / "spec.yaml").write_text(SPEC)
    run_spec(load_spec(folder / "spec.yaml"))
    return folder / "run"


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_in(tmp_path_factory.mktemp("determinism") / "a")


def test_two_runs_of_one_spec_write_the_same_bytes(first: Path, tmp_path: Path) -> None:
    second = run_in(tmp_path / "b")
    a, b = artefacts(first), artefacts(second)
    assert "00-compare/summary.csv" in a and "00-compare/rank_disorder.png" in a
    assert sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []
    summary = pd.read_csv(first / "00-compare" / "summary.csv")
    shared = summary[summary["weight_sharing"]]
    assert (shared["equal_cost_queries"] >= 1).all() and shared["p_gt_random_at_equal_cost"].between(0, 1).all()
    assert (shared["cost_in_trainings"] > 0).all() and summary["cost"].str.contains("multiply-adds per seed").sum() == 2
    assert "equal_time_queries" not in summary.columns and not summary["cost"].str.contains(" s per seed").any()
    timing = pd.read_csv(first / "00-compare" / "timing.csv")
    assert sorted(timing["training"].unique()) == ["gdas", "spos"] and (timing["seconds"] > 0).all()


def test_a_run_killed_after_its_first_seed_and_resumed_writes_the_same_bytes(first: Path, tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "spec.yaml").write_text(SPEC)
    db = folder / "run" / "results.sqlite"
    done = fns.kill_driver_when_done(DRIVER.format(spec=str(folder / "spec.yaml")), str(db), 1, timeout_s=120)
    assert 1 <= done < 3  # killed with a weight-sharing seed (and the study) still to do
    assert not (folder / "run" / "report.html").exists()
    run_spec(load_spec(folder / "spec.yaml"))
    a, c = artefacts(first), artefacts(folder / "run")
    assert sorted(a) == sorted(c)
    assert [name for name in a if a[name] != c[name]] == []
