"""A truth that trains says what it will cost before it trains, and ``nasaudit run --plan`` prints every study's
planned jobs without running or writing anything (issue #22 item 9)."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.cli.main import main
from nasaudit.truth.trained import TrainedEvaluator

SPEC = """
name: trained-truth
output: run
space: {name: nb201, ops: [skip_connect, nor_conv_1x1]}
evaluators:
  truth: {kind: train, protocol: cpu_small, dataset: embedded, seeds: [0, 1], options: {epochs: 2}}
analyses:
  - kind: importance
    evaluator: truth
  - kind: compare
    evaluator: truth
    strategies: [random, evolution, spos_evolution, gdas]
    budget: 3
    seeds: 2
    weight_sharing: {epochs: 4, channels: 6, rank_set: 5}
"""


class Stop(Exception):
    pass


def test_a_trained_truth_states_its_planned_runs_before_training(tmp_path, monkeypatch) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    said = io.StringIO()

    def stop(self: TrainedEvaluator, archs: list) -> None:
        raise Stop(said.getvalue())

    monkeypatch.setattr(TrainedEvaluator, "evaluate", stop)
    with pytest.raises(Stop) as stopped:
        run_spec(load_spec(tmp_path / "spec.yaml"), Console(file=said, width=400))
    # the whole 2-op space (64 cells) scored by training: architectures x seeds x epochs, before any training
    assert ("truth 'truth' trains every architecture of the space from scratch: 64 architectures x 2 seeds x 2 "
            "epochs (cpu_small on embedded) = 128 runs, 128 not yet in the store") in str(stopped.value)


def test_plan_prints_every_study_and_writes_nothing(tmp_path, capsys) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    try:
        main(["run", str(tmp_path / "spec.yaml"), "--plan"])
    except SystemExit as done:
        assert done.code in (0, None)
    lines = capsys.readouterr().out.splitlines()
    assert "nothing is run" in lines[0]
    assert "00-importance  importance  study: 1 job(s); one study job (top=0.05)" in lines
    assert "00-importance  importance  trained evaluator 'truth': the architectures the study scores: as the study " \
           "needs; 2 runs per architecture, 2 epochs of cpu_small on embedded each" in lines
    assert "01-compare  compare  query-based runs (random, evolution): 4 job(s); 3 queries of truth each" in lines
    assert ("01-compare  compare  weight-sharing seeds (spos, gdas: spos_evolution, gdas): 4 job(s); 4 supernet "
            "epochs on embedded each (6 channels, 1 cell(s) per stage, batch 64)") in lines
    assert any(line.startswith("01-compare  compare  trained evaluator 'truth': the ground truth of the whole space")
               and "(at most 64 architectures x 2 seeds): 128 job(s); 2 epochs of cpu_small on embedded each" in line
               for line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]  # no run folder, no store
