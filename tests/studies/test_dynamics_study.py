"""The dynamics study reuses the training jobs of an arch_sets study and measures each run at its final
weights; the cell_drawing study draws and colours cells; the ``nasaudit dynamics`` commands build those specs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import nasaudit.studies._trained_sets as trained_sets
from nasaudit.analysis.importance import operation_importance
from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import spec_from_data
from nasaudit.cli.dynamics import app, parse_macro
from nasaudit.data.loading import load_dataset
from nasaudit.dynamics.functional import eval_subset
from nasaudit.dynamics.gradient_variance import gradient_variance
from nasaudit.dynamics.sharpness import top_hessian_eigenvalue
from nasaudit.errors import ConfigError
from nasaudit.resources import table_path
from nasaudit.spaces import get_space
from nasaudit.studies.dynamics import PAPER_CLAIM
from nasaudit.truth.tabular import TabularBenchmark

TRAINING = {"epochs": 1, "macro": {"channels": 4, "layers": 3}, "seeds": [0],
            "sets": [{"name": "shape", "generator": "shape", "bases": ["DARTS_V2"]}]}
MEASURES = {"eval_images": 32, "grid": 3, "grid_1d": 3, "variance_grid": 1, "variance_batch": 8, "hessian_iters": 3}


def test_dynamics_reuses_training_and_measures_final_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = trained_sets.train_set_job
    monkeypatch.setattr(trained_sets, "train_set_job", lambda job: calls.append(job.job_id) or real(job))
    data = {"name": "t", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": "darts"},
            "analyses": [{"kind": "arch_sets", **TRAINING}, {"kind": "dynamics", **TRAINING, **MEASURES}]}
    runner = Runner(spec_from_data(data, tmp_path))
    sections = runner.run()
    assert len(calls) == 3  # trained once, by the first study; the second loads the checkpoints
    folder = tmp_path / "run" / "01-dynamics"
    table = pd.read_csv(folder / "dynamics.csv").set_index("group")
    assert list(table.index) == ["original", "widest_shallowest", "narrowest_deepest"]
    assert table.loc["widest_shallowest", "normal_width"] > table.loc["narrowest_deepest", "normal_width"]
    for column in ("test_acc_mean", "epochs_to_fraction", "grad_variance", "sharpness", "landscape_rise"):
        assert np.isfinite(table[column]).all()
    assert (table["grad_variance"] > 0).all()
    notes = sections[1].notes
    assert notes[0] == f"Paper's claim: {PAPER_CLAIM}" and any("widest-shallowest vs narrowest" in n for n in notes)
    assert any("Spearman(normal-cell width, grad_variance)" in n for n in notes)
    for label in table["label"]:
        assert (folder / f"dynamics_shape_{label.replace('/', '_')}.png").is_file()
    assert (folder / "landscape_1d.png").is_file() and (folder / "convergence_shape.png").is_file()
    # the numbers are those of the trained weights: recompute one run's from its checkpoint
    runs = pd.read_csv(folder / "dynamics_runs.csv")
    run = runs[runs["label"] == "DARTS_V2/original"].iloc[0]
    trained = trained_sets.train_sets(runner, runner.spec.analyses[1])
    job = trained.runs.set_index("label").loc["DARTS_V2/original", "job"]
    splits = load_dataset("embedded", None, val_fraction=0.1, seed=0)
    model = trained_sets.load_trained_model(job, splits.num_classes, splits.in_channels)
    images = eval_subset(splits, 32, 0, "train")
    assert gradient_variance(model, images, 8, 0).variance == pytest.approx(run["grad_variance"], rel=1e-6)
    assert top_hessian_eigenvalue(model, images, 0, tol=1e-3, max_iter=3).eigenvalue == pytest.approx(
        run["sharpness"], rel=1e-5)
    assert len(calls) == 3


def test_dynamics_refuses_even_grids(tmp_path: Path) -> None:
    data = {"name": "t", "output": str(tmp_path), "space": {"name": "darts"},
            "analyses": [{"kind": "dynamics", **TRAINING, "grid": 4}]}
    with pytest.raises(ConfigError, match="odd number of points"):
        spec_from_data(data, tmp_path)


def test_cell_drawing_colours_by_importance(tmp_path: Path) -> None:
    ops = ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    data = {"name": "t", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": "nb201", "ops": ops},
            "evaluators": {"truth": {"kind": "table", "path": "embedded", "metric": "test_acc"}},
            "analyses": [{"kind": "cell_drawing", "archs": [arch], "evaluator": "truth"}]}
    Runner(spec_from_data(data, tmp_path)).run()
    cells = pd.read_csv(tmp_path / "run" / "00-cell_drawing" / "cells.csv")
    space = get_space("nb201").restrict(ops)
    truth = TabularBenchmark.from_file(table_path("embedded"), space).evaluator("test_acc", resolve="canonical")
    oi = operation_importance(truth, [space.parse(arch)], units="percent")
    assert cells.loc[0, "largest_oi"] == pytest.approx(oi["oi"].abs().max() * np.sign(
        oi.loc[oi["oi"].abs().idxmax(), "oi"]))
    assert cells.loc[0, "scored_operations"] == oi["oi"].notna().sum()
    first = (tmp_path / "run" / "00-cell_drawing" / "cell_arch1.png").read_bytes()
    Runner(spec_from_data({**data, "output": str(tmp_path / "again")}, tmp_path)).run()
    assert (tmp_path / "again" / "00-cell_drawing" / "cell_arch1.png").read_bytes() == first


def test_cli_commands_build_one_study_specs(tmp_path: Path) -> None:
    cli = CliRunner()
    done = cli.invoke(app, ["draw", "--published", "DARTS_V2", "--space", "darts", "--out", str(tmp_path / "d")])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "d" / "00-cell_drawing" / "cell_DARTS_V2.png").is_file()
    arch = str(get_space("darts").sample(3))
    done = cli.invoke(app, ["train-set", "--archs", arch, "--epochs", "1", "--macro", "channels=4", "--macro",
                            "layers=3", "--lrs", "0.0025,0.25", "--out", str(tmp_path / "t")])
    assert done.exit_code == 0, done.output
    folder = tmp_path / "t" / "00-arch_sets"
    assert sorted(pd.read_csv(folder / "runs.csv")["lr"]) == [0.0025, 0.25]
    assert (folder / "convergence_archs_lr0.0025.png").is_file() and (folder / "convergence_archs_lr0.25.png").is_file()
    assert parse_macro(["channels=8", "auxiliary=false", "drop=0.5"]) == {"channels": 8, "auxiliary": False,
                                                                         "drop": 0.5}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_macro(["channels"])
