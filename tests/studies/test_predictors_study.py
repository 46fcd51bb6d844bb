"""The predictors study on the embedded table (tiny training sets, two seeds, a small test set) and its command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import spec_from_data
from nasaudit.cli.analyze import app
from nasaudit.errors import ConfigError, NasauditError

OPS = ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]  # the embedded table's space
STUDY = {"kind": "predictors", "evaluator": "truth", "predictors": ["gbt", "gp"], "train_sizes": [10, 20],
         "seeds": [0, 1], "test": 30, "k": 5}


def _spec(tmp_path: Path, **study: object) -> dict:
    return {"name": "p", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": "nb201", "ops": OPS},
            "evaluators": {"truth": {"kind": "table", "path": "embedded", "metric": "test_acc"}},
            "analyses": [{**STUDY, **study}]}


def test_every_predictor_size_and_seed_is_ranked_on_the_test_set(tmp_path: Path) -> None:
    Runner(spec_from_data(_spec(tmp_path), tmp_path)).run()
    folder = tmp_path / "run" / "00-predictors"
    per_seed = pd.read_csv(folder / "predictors_per_seed.csv")
    summary = pd.read_csv(folder / "predictors.csv").set_index(["predictor", "train_size"])
    assert len(per_seed) == 2 * 2 * 2 and (per_seed["scored"] == 30).all()
    assert sorted(summary.index) == [("gbt", 10), ("gbt", 20), ("gp", 10), ("gp", 20)]
    for (name, size), rows in per_seed.groupby(["predictor", "train_size"]):  # mean and std over the two seeds
        expected = [rows["kendall_tau"].mean(skipna=False), rows["kendall_tau"].std(ddof=1, skipna=False)]
        got = summary.loc[(name, size), ["kendall_tau_mean", "kendall_tau_std"]].to_numpy(dtype=float)
        assert np.array_equal(got, expected, equal_nan=True)
    assert {"spearman_mean", "tau_top10_mean", "p_at_5_mean"} <= set(summary.columns)
    assert summary.loc["gp", "kendall_tau_mean"].between(-1, 1).all()  # a GP ranks 10 cells already
    constant = per_seed["kendall_tau"].isna()  # only a predictor with one value for every test cell has no tau
    assert (per_seed.loc[constant, "predictor"] == "gbt").all()
    assert (folder / "predictors.png").is_file() and (folder / "truth_ceiling.csv").is_file()


def test_two_runs_write_the_same_tables(tmp_path: Path) -> None:
    tables = []
    for run in ("a", "b"):
        Runner(spec_from_data(_spec(tmp_path / run, predictors=["bananas"]), tmp_path)).run()
        tables.append((tmp_path / run / "run" / "00-predictors" / "predictors_per_seed.csv").read_bytes())
    assert tables[0] == tables[1]


def test_a_training_set_the_table_cannot_hold_is_one_line(tmp_path: Path) -> None:
    spec = _spec(tmp_path, train_sizes=[10], test=10**4)
    try:
        Runner(spec_from_data(spec, tmp_path)).run()
    except NasauditError as err:
        assert "plus the test set" in str(err) and "\n" not in str(err)
    else:
        raise AssertionError("a test set larger than the table ran")


def test_the_command_runs_the_study_and_refuses_an_unknown_predictor(tmp_path: Path) -> None:
    args = ["predictors", "--table", "embedded", "--ops", ",".join(OPS), "--train-sizes", "10",
            "--predictor-seeds", "0", "--test", "20", "--set", "k=3"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "run"), "--predictors", "rf"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "run" / "00-predictors" / "predictors_per_seed.csv")) == 1
    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "bad"), "--predictors", "gpp"])
    assert isinstance(bad.exception, ConfigError)  # the entry point prints a ConfigError as its one line
    assert "unknown predictor 'gpp' (did you mean 'gp'?)" in str(bad.exception) and "\n" not in str(bad.exception)


def test_a_predictor_registered_in_process_is_in_the_studys_key(tmp_path: Path, monkeypatch) -> None:
    """A user's predictor registered in the running process (not from a plugin file) is part of the key: its module,
    factory and file hash, so editing it reruns the study; the package's predictors leave the key as it was."""
    from nasaudit.predictors import PREDICTORS, SpacePredictor

    for part in ("_entries", "_descriptions", "_origins"):
        monkeypatch.setattr(PREDICTORS, part, dict(getattr(PREDICTORS, part)))

    def ridge_predictor(space: object) -> SpacePredictor:
        from sklearn.linear_model import Ridge

        return SpacePredictor(space, lambda seed: Ridge(alpha=1.0))  # type: ignore[arg-type]

    PREDICTORS.add("test_ridge", ridge_predictor, "ridge regression (test)")
    data = _spec(tmp_path)
    data["analyses"].append({**STUDY, "predictors": ["gbt", "test_ridge"]})
    runner = Runner(spec_from_data(data, tmp_path))
    try:
        shipped, users = (runner.study_key(study) for study in runner.spec.analyses)
    finally:
        runner.store.close()
    assert "code" not in shipped
    identity = users["code"]["test_ridge"]
    assert identity["module"] == __name__ and identity["factory"].endswith("ridge_predictor")
    assert len(identity["sha256"]) == 64 and "gbt" not in users["code"]
