"""Surrogates fit on a DARTS-space benchmark table (truth/nb301_surrogate.py, the ``nb301_surrogate`` evaluator kind
and study): NB301's split and k-fold held-out predictions, the evaluator scoring unseen genotypes, one-line errors.

SYNTHETIC TEST FIXTURE: the table's genotypes are seeded DARTS samples and its ``test_acc`` comes from a made-up
rule (``synthetic_accuracy`` of conftest.py plus seeded noise). It tests the plumbing, not the DARTS space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import spec_from_data
from nasaudit.errors import ConfigError, DataError
from nasaudit.jobs.job import identity
from nasaudit.resources import PACKAGED_TABLES
from nasaudit.spaces import get_space
from nasaudit.studies.evaluators import NB301SurrogateEvaluatorSpec, nb301_source
from nasaudit.truth.gin import GINSettings
from nasaudit.truth.nb301_surrogate import (
    HeldOut,
    fit_nb301_surrogate,
    kfold_assignment,
    official_nb301_surrogate,
)

from .conftest import synthetic_accuracy


def write_darts_table(path: Path, n: int = 60, seed: int = 0) -> Path:
    """``n`` seeded DARTS genotypes with a made-up ``test_acc`` and a text column, as ``bench export`` lays out."""
    space = get_space("darts")
    genotypes = space.sample_many(n, seed)
    noise = np.random.default_rng(seed).normal(0, 0.1, n)
    pd.DataFrame({"ArchitectureString": [space.format(g) for g in genotypes],
                  "test_acc": [synthetic_accuracy(g) + e for g, e in zip(genotypes, noise, strict=True)],
                  "dataset": "fashion"}).to_csv(path, index=False)
    return path


@pytest.fixture
def darts_table(tmp_path: Path) -> Path:
    return write_darts_table(tmp_path / "darts_tiny.csv")


def test_split_on_a_table(darts_table: Path, tmp_path: Path) -> None:
    fitted = fit_nb301_surrogate(darts_table, tmp_path / "fit", "gbt", "test_acc", n_estimators=20)
    heldout = fitted.heldout
    assert heldout is not None and heldout.mode == "split"
    assert (heldout.n_train, heldout.n_val, len(heldout.genotypes), heldout.n_rows) == (48, 6, 6, 60)
    assert heldout.label() == "split 0.8/0.1/0.1" and "6 of 60 genotypes" in heldout.describe()


def test_kfold_predicts_every_row_out_of_fold(darts_table: Path, tmp_path: Path) -> None:
    fitted = fit_nb301_surrogate(darts_table, tmp_path / "fit", "gbt", "test_acc", n_estimators=20,
                                 heldout="kfold", folds=5)
    heldout = fitted.heldout
    assert heldout is not None and heldout.mode == "kfold" and heldout.folds == 5
    table = pd.read_csv(darts_table)
    assert heldout.genotypes == list(table["ArchitectureString"])  # all rows, in table order
    np.testing.assert_allclose(heldout.true, table["test_acc"])
    assert (heldout.n_rows, heldout.n_train, heldout.n_val) == (60, 54, 6)  # the final model: all rows
    assert set(heldout.metrics()) == {"r2", "spearman", "kendall", "sparse_kendall"}
    assert np.isfinite(heldout.metrics()["spearman"])
    # out of fold: the predictions are not the final model's (which saw every row)
    space = get_space("darts")
    assert not np.array_equal(fitted.evaluate([space.parse(g) for g in heldout.genotypes]), heldout.predicted)
    # read back from the cache identically, and the JSON keeps the mode
    again = fit_nb301_surrogate(darts_table, tmp_path / "fit", "gbt", "test_acc", heldout="kfold", folds=5)
    assert again.heldout is not None and again.heldout.to_json() == heldout.to_json()
    back = HeldOut.from_json(heldout.to_json())
    assert (back.mode, back.folds, back.n_train, back.n_val) == ("kfold", 5, 54, 6)
    np.testing.assert_array_equal(back.predicted, heldout.predicted)
    # the evaluator scores genotypes the table never holds
    unseen = space.sample_many(5, seed=123)
    assert not {space.format(g) for g in unseen} & set(heldout.genotypes)
    scores = fitted.evaluate(unseen)
    assert scores.shape == (5,) and np.isfinite(scores).all()


def test_a_gin_kfold_fit_is_deterministic(darts_table: Path, tmp_path: Path) -> None:
    tiny = GINSettings(hidden=8, layers=1, epochs=2, seed=0)
    first, second = (fit_nb301_surrogate(darts_table, tmp_path / name, "gin", "test_acc", gin=tiny,
                                         heldout="kfold", folds=3) for name in ("a", "b"))
    assert first.heldout is not None and second.heldout is not None
    assert first.heldout.to_json() == second.heldout.to_json() and len(first.heldout.genotypes) == 60
    archs = get_space("darts").sample_many(4, seed=5)
    np.testing.assert_array_equal(first.evaluate(archs), second.evaluate(archs))


def test_fold_assignment_is_seeded_and_balanced() -> None:
    fold = kfold_assignment(23, 5, seed=1)
    assert sorted(np.bincount(fold)) == [4, 4, 5, 5, 5]
    np.testing.assert_array_equal(fold, kfold_assignment(23, 5, seed=1))
    assert not np.array_equal(fold, kfold_assignment(23, 5, seed=2))
    with pytest.raises(DataError, match="too few for 10-fold"):
        kfold_assignment(15, 10, seed=0)


def test_table_errors_are_one_line_data_errors(darts_table: Path, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="missing metric column") as missing:
        fit_nb301_surrogate(darts_table, tmp_path / "a", "gbt", "val_acc", n_estimators=5)
    with pytest.raises(DataError, match="non-numeric value") as text:
        fit_nb301_surrogate(darts_table, tmp_path / "b", "gbt", "dataset", n_estimators=5)
    with pytest.raises(DataError, match="model: official") as official:
        official_nb301_surrogate(darts_table, tmp_path)
    assert all("\n" not in str(e.value) for e in (missing, text, official))


# ----------------------------------------------------------------------------------------- the evaluator kind
def _spec(tmp_path: Path, analyses: list[dict[str, Any]], **evaluator: Any) -> Any:
    nb301 = {"kind": "nb301_surrogate", "path": "darts_tiny.csv", "metric": "test_acc", "n_estimators": 10,
             **evaluator}
    data = {"name": "t", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": "darts"},
            "evaluators": {"nb301": nb301}, "analyses": analyses}
    return spec_from_data(data, tmp_path)


def test_kfold_study_reports_all_rows(tmp_path: Path) -> None:
    write_darts_table(tmp_path / "darts_tiny.csv")
    runner = Runner(_spec(tmp_path, [{"kind": "nb301_surrogate", "evaluator": "nb301"}], heldout="kfold", folds=4))
    sections = runner.run()
    description = runner.scored("nb301").description
    assert "table darts_tiny.csv" in description and "60 genotypes" in description and "4-fold" in description
    table = pd.read_csv(tmp_path / "run" / "00-nb301_surrogate" / "nb301_surrogate.csv")
    ours = table.iloc[0]
    assert ours["heldout"] == "4-fold" and ours["test"] == 60 and np.isfinite(ours["spearman"])
    assert set(table["heldout"][1:]) == {"NB301 test split"}
    assert "4-fold out-of-fold predictions of all 60 genotypes" in sections[0].summary
    predictions = pd.read_csv(tmp_path / "run" / "00-nb301_surrogate" / "heldout_predictions.csv")
    assert len(predictions) == 60


@pytest.mark.parametrize(("evaluator", "where", "message"), [
    ({"metric": "val_acc"}, "metric", "no metric column 'val_acc'"),
    ({"metric": "dataset"}, "metric", "'dataset' of darts_tiny.csv is not a complete numeric column"),
    ({"arch_column": "arch"}, "arch_column", "no column 'arch'"),
    ({"model": "official", "model_dir": "."}, "model", "model: official is scored on an NB301 results folder"),
    ({"path": "nowhere.csv"}, "path", "table not found"),
    ({"heldout": "kfold", "folds": 20}, "path", "too few for 20-fold"),
])
def test_bad_table_specs_are_refused_up_front(tmp_path: Path, evaluator: dict[str, Any], where: str,
                                              message: str) -> None:
    write_darts_table(tmp_path / "darts_tiny.csv", n=30)
    with pytest.raises(ConfigError, match=message) as caught:
        _spec(tmp_path, [{"kind": "nb301_surrogate", "evaluator": "nb301"}], **evaluator)
    line = next(line for line in str(caught.value).splitlines() if message.split("'")[0] in line)
    assert where in line


def test_a_folder_metric_must_be_an_nb301_one(tmp_path: Path, nb301_folder: Path) -> None:
    with pytest.raises(ConfigError, match="gives val_accuracy or test_accuracy, not 'test_acc'"):
        _spec(tmp_path, [{"kind": "nb301_surrogate", "evaluator": "nb301"}], path=str(nb301_folder))


def test_a_shipped_table_is_named_and_old_fingerprints_hold(tmp_path: Path) -> None:
    assert PACKAGED_TABLES["darts_fashion"] == "darts_fashion.csv"
    shipped = NB301SurrogateEvaluatorSpec(path="darts_fashion", metric="test_acc")
    try:
        assert nb301_source(shipped, tmp_path).name == "darts_fashion.csv"
    except DataError as err:  # not built yet in this checkout: the name is known, the file is missing
        assert "darts_fashion.csv is missing" in str(err)
    # a folder spec written before heldout/folds/arch_column existed keeps its identity (and its stored fits)
    old = NB301SurrogateEvaluatorSpec(path="nb_301_v13_lc_iclr_final")
    assert identity(old) == {"kind": "nb301_surrogate", "path": "nb_301_v13_lc_iclr_final", "metric": "val_accuracy",
                             "model": "gbt", "model_dir": None, "seed": 0, "n_estimators": 500, "epochs": 60,
                             "hidden": 32, "layers": 3, "units": "percent"}
    assert "heldout" in identity(NB301SurrogateEvaluatorSpec(path="x", heldout="kfold"))
