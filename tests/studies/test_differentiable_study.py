"""The differentiable study: DARTS then alpha, PT, PT-Mag and fixed-alpha PT selections from one spec, scored by a
table, with the selection paper's analyses; it resumes a finished search instead of searching again."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.errors import ConfigError
from nasaudit.spaces import get_space

SPEC = """
output: run
space: {name: nb201, ops: [skip_connect, nor_conv_1x1, nor_conv_3x3]}
evaluators:
  truth: {kind: table, path: embedded, metric: test_acc}
analyses:
  - kind: differentiable
    algorithm: darts
    search_seeds: 2
    selections: [alpha, pt, pt_mag, fixed_alpha_pt]
    epochs: 2
    snapshot_epochs: [1, 2]
    tune_epochs: 0
    tune_sweep: [1]
    shuffle_repeats: 2
    batch_size: 256
    val_fraction: 0.2
    truth: truth
"""


def test_search_select_score_and_analyses(tmp_path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    run_spec(load_spec(tmp_path / "spec.yaml"))
    folder = tmp_path / "run" / "00-differentiable"
    derived = pd.read_csv(folder / "derived.csv")
    assert set(derived["method"]) == {"alpha", "pt", "pt_mag", "fixed_alpha_pt"} and len(derived) == 8
    space = get_space("nb201").restrict(["skip_connect", "nor_conv_1x1", "nor_conv_3x3"])
    assert all(space.contains(space.parse(a)) for a in derived["arch"])
    assert derived["score"].between(50, 100).all()
    methods = pd.read_csv(folder / "methods.csv")
    assert methods["seeds"].tolist() == [2, 2, 2, 2]
    along = pd.read_csv(folder / "along_search.csv")  # alpha and PT on the search's snapshots, PT on fixed alpha's
    assert sorted(set(along["epoch"])) == [1, 2] and len(along) == 2 * 2 * 3
    assert along.groupby("method").size().to_dict() == {"alpha": 4, "fixed_alpha_pt": 4, "pt": 4}  # Fig. 4, 8
    assert (folder / "along_search.png").is_file()
    trajectory = pd.read_csv(folder / "selection_trajectory.csv")  # Fig. 6: 6 decision rounds per selection
    assert trajectory.groupby(["method", "seed"]).size().tolist() == [7] * 6
    assert set(trajectory["method"]) == {"pt", "pt_mag", "fixed_alpha_pt"}
    assert (folder / "selection_trajectory.png").is_file()
    assert (folder / "operation_strength.png").is_file() and (folder / "skip_domination.png").is_file()
    strength = pd.read_csv(folder / "operation_strength.csv")
    assert strength["acc_without"].notna().all()
    assert len(pd.read_csv(folder / "tune_sweep.csv")) == 2
    shuffle = pd.read_csv(folder / "shuffle.csv")
    assert shuffle["mode"].tolist() == ["edges"] and shuffle["repeats"].iloc[0] == 2  # one cell per stage
    section = json.loads((folder / "section.json").read_text())
    assert "No layers shuffle" in json.dumps(section["notes"])
    assert "Paired Wilcoxon" in json.dumps(section["tables"])


def test_pt_tuning_is_reported(tmp_path) -> None:
    (tmp_path / "spec.yaml").write_text("output: run\nspace: {name: nb201, ops: [skip_connect, nor_conv_3x3]}\n"
                                        "analyses:\n  - {kind: differentiable, search_seeds: 1, epochs: 1, "
                                        "selections: [pt_mag], tune_epochs: 1, batch_size: 128}\n")
    run_spec(load_spec(tmp_path / "spec.yaml"))
    tuning = pd.read_csv(tmp_path / "run" / "00-differentiable" / "pt_tuning.csv")
    # NB201: one tuning epoch after each of the first four decisions, none before the last (DARTS-PT's schedule)
    assert tuning["after_round"].tolist() == [0, 1, 2, 3] and (tuning["method"] == "pt_mag").all()
    assert (tuning["lr"] == 0.0025).all() and tuning["arch_loss"].notna().all()  # lr / 10; alpha keeps training


def test_selection_on_a_space_without_differentiable_search_is_refused_before_compute(tmp_path) -> None:
    (tmp_path / "spec.yaml").write_text("space: {name: nb101}\nanalyses:\n  - {kind: differentiable, epochs: 1}\n")
    with pytest.raises(ConfigError, match="selection 'alpha' is defined on"):
        load_spec(tmp_path / "spec.yaml")


def test_cli_search_is_a_one_study_spec(tmp_path) -> None:
    from nasaudit.cli.main import main

    try:  # success: a normal return, or exit code 0
        main(["darts", "search", "--out", str(tmp_path / "o"), "--ops", "skip_connect,nor_conv_3x3", "--epochs", "1",
              "--search-seeds", "1", "--selections", "alpha", "--table", "embedded"])
    except SystemExit as done:
        assert done.code in (0, None)
    derived = pd.read_csv(tmp_path / "o" / "00-differentiable" / "derived.csv")
    assert derived["method"].tolist() == ["alpha"] and derived["score"].notna().all()
