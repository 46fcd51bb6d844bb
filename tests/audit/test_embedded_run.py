"""A scaled-down default audit on the embedded data: every section, supernet included, then resume."""

from __future__ import annotations

import json

import pandas as pd

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec

SPEC = """
name: small-default
seed: 0
output: run
space: {name: nb201, ops: [skip_connect, nor_conv_1x1, nor_conv_3x3]}
evaluators:
  truth: {kind: table, path: embedded, metric: test_acc}
  supernet: {kind: supernet, dataset: embedded, size: tiny, epochs: 1}
analyses:
  - {kind: compare, evaluator: truth, strategies: [random, local], budget: 10, seeds: 2}
  - {kind: supernet_ranking, supernet: supernet, truth: truth, seeds: 1}
  - {kind: compare, evaluator: supernet, truth: truth, strategies: [random], budget: 10, seeds: 2}
  - {kind: importance, evaluator: truth, top: 0.05}
  - {kind: primskip, evaluator: truth, samples: 5}
"""


def test_small_default_audit(tmp_path):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(SPEC)
    report = run_spec(load_spec(spec_file))
    run_dir = tmp_path / "run"
    ranking = json.loads((run_dir / "01-supernet_ranking" / "section.json").read_text())
    assert any("seed-to-seed Kendall tau" in note for note in ranking["notes"])
    summary = pd.read_csv(run_dir / "01-supernet_ranking" / "summary.csv")
    assert {"tau_a", "kendall_tau", "spearman", "pearson"} <= set(summary["metric"])
    curve = pd.read_csv(run_dir / "01-supernet_ranking" / "curve.csv")
    assert list(curve["n"][:3]) == [10, 25, 50]
    ws = pd.read_csv(run_dir / "02-compare" / "summary.csv")
    assert ws["mean"].between(0, 100).all()  # final archs scored by the truth, not by the supernet
    assert (run_dir / "supernets" / "supernet-seed0").is_dir()
    html = report.read_text()
    assert html.count('class="analysis"') == 5
    # rerun: every analysis is skipped, the supernet is not retrained
    before = sorted(p.stat().st_mtime_ns for p in (run_dir / "supernets").rglob("*") if p.is_file())
    run_spec(load_spec(spec_file))
    after = sorted(p.stat().st_mtime_ns for p in (run_dir / "supernets").rglob("*") if p.is_file())
    assert before == after


GRID = """
experiment: tiny-grid
benchmark: embedded
metric: test_acc
dataset: embedded
seeds: [0, 1]
n_random: 100
base: {space: nb201, size: S, channels: 4, depth: 1, protocol: singlepath, epochs: 1, batch_size: 256, flip: false}
masks: [[none, avg_pool_3x3]]
variants: {baseline: {}, uniform: {sampling: uniform}}
"""


def test_supernet_grid_section_runs_through_the_store(tmp_path):
    (tmp_path / "grid.yaml").write_text(GRID)
    (tmp_path / "spec.yaml").write_text("output: run\nanalyses:\n  - {kind: supernet_grid, grid: grid.yaml}\n")
    report = run_spec(load_spec(tmp_path / "spec.yaml"))
    table = pd.read_csv(tmp_path / "run" / "00-supernet_grid" / "grid_summary.csv")
    assert set(table["variant"]) == {"baseline", "uniform"}
    assert (table["seeds"] == 2).all()
    uniform = table[(table["variant"] == "uniform") & (table["metric"] == "kendall_tau")]
    assert uniform["welch_p_vs_baseline"].notna().all()
    assert "Highest Kendall tau" in report.read_text()
