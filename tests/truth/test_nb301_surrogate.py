"""Surrogates fit on an NB301 results folder (truth/nb301_surrogate.py, truth/gin.py) on the synthetic fixture of
conftest.py: NB301's config encoding, seeded deterministic fits, the cache, held-out metrics, clear errors."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

import nasaudit.truth.nb301_surrogate as nb301
from nasaudit.analysis.published import published_genotype
from nasaudit.errors import DataError
from nasaudit.spaces.darts import DartsSpace
from nasaudit.truth.gin import GINSettings
from nasaudit.truth.nb301_surrogate import (
    NB301_PUBLISHED,
    fit_nb301_surrogate,
    heldout_metrics,
    nb301_config_features,
    official_nb301_surrogate,
    published_rows,
)

TINY_GIN = GINSettings(hidden=8, layers=2, epochs=4, seed=0)


def test_config_features_follow_the_configspace_choices() -> None:
    genotype = published_genotype("DARTS_V2")
    row = nb301_config_features([genotype])[0]
    assert row.shape == (34,)  # per cell: 14 edge_ and 3 inputs_node_ hyperparameters
    assert (row == -1).sum() == 12  # 6 of 14 edges inactive in each cell
    # normal node 2 is ('sep_conv_3x3', 0), ('sep_conv_3x3', 1): edges 0 and 1, choice 3 of configspace.json
    assert row[0] == row[1] == 3
    # normal node 5 takes inputs 0 and 2: choice "0_2" = index 1 of inputs_node_normal_5
    assert row[16] == 1


@pytest.mark.parametrize("model", ["gbt", "gin"])
def test_a_fit_is_deterministic_for_a_seed(nb301_folder: Path, tmp_path: Path, model: str) -> None:
    first = fit_nb301_surrogate(nb301_folder, tmp_path / "a", model, seed=3, gin=TINY_GIN, n_estimators=50)
    second = fit_nb301_surrogate(nb301_folder, tmp_path / "b", model, seed=3, gin=TINY_GIN, n_estimators=50)
    archs = DartsSpace().sample_many(20, seed=9)
    np.testing.assert_array_equal(first.evaluate(archs), second.evaluate(archs))
    assert first.heldout is not None and second.heldout is not None
    assert first.heldout.to_json() == second.heldout.to_json()
    other = fit_nb301_surrogate(nb301_folder, tmp_path / "c", model, seed=4, gin=TINY_GIN, n_estimators=50)
    assert other.heldout is not None and other.heldout.genotypes != first.heldout.genotypes


def test_heldout_split_and_metrics(nb301_folder: Path, tmp_path: Path) -> None:
    fitted = fit_nb301_surrogate(nb301_folder, tmp_path / "gbt", "gbt", n_estimators=100)
    heldout = fitted.heldout
    assert heldout is not None
    assert (heldout.n_train, heldout.n_val, len(heldout.genotypes)) == (48, 6, 6)  # 60 genotypes, 0.8/0.1/0.1
    metrics = heldout.metrics()
    assert set(metrics) == {"r2", "spearman", "kendall", "sparse_kendall"}
    assert metrics["spearman"] == pytest.approx(stats.spearmanr(heldout.true, heldout.predicted).statistic)
    space = DartsSpace()
    np.testing.assert_array_equal(fitted.evaluate([space.parse(g) for g in heldout.genotypes]), heldout.predicted)


def test_heldout_metrics_match_their_definitions() -> None:
    true = np.array([93.0, 94.0, 92.5, 95.0, 91.0])
    predicted = np.array([93.04, 93.98, 92.7, 94.6, 91.5])
    metrics = heldout_metrics(true, predicted)
    assert metrics["r2"] == pytest.approx(1 - ((true - predicted) ** 2).sum() / ((true - true.mean()) ** 2).sum())
    assert metrics["kendall"] == pytest.approx(stats.kendalltau(true, predicted).statistic)
    # NB301's sparse Kendall tau rounds the predictions to 0.1 %
    assert metrics["sparse_kendall"] == pytest.approx(stats.kendalltau(true, np.round(predicted, 1)).statistic)


def test_a_cached_fit_is_read_not_refit(nb301_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archs = DartsSpace().sample_many(10, seed=1)
    fresh = fit_nb301_surrogate(nb301_folder, tmp_path, "gbt", n_estimators=50).evaluate(archs)

    def refuse(*args: Any) -> bytes:
        raise AssertionError("refit although the fit is cached")

    monkeypatch.setattr(nb301, "_fit_gbt", refuse)
    np.testing.assert_array_equal(fit_nb301_surrogate(nb301_folder, tmp_path, "gbt").evaluate(archs), fresh)


def test_published_figures_are_in_one_table() -> None:
    rows = published_rows()
    assert list(rows["model"]) == list(NB301_PUBLISHED)
    assert rows.loc[rows["model"] == "XGB", "sparse_kendall"].item() == NB301_PUBLISHED["XGB"]["sparse_kendall"]
    assert rows["spearman"].isna().all()  # NB301 publishes no Spearman


def test_bad_folders_are_one_line_data_errors(tmp_path: Path, nb301_writer: Any) -> None:
    with pytest.raises(DataError, match="NB301 results folder not found") as missing:
        fit_nb301_surrogate(tmp_path / "nowhere", tmp_path / "cache")
    assert "\n" not in str(missing.value)
    small = nb301_writer(tmp_path / "small", n=8)
    with pytest.raises(DataError, match=r"too few for NB301's 0\.8/0\.1/0\.1"):
        fit_nb301_surrogate(small, tmp_path / "cache")
    (small / "rs" / "results_1.json").write_text("{not json")
    with pytest.raises(DataError, match="not an NB301 result file"):
        fit_nb301_surrogate(small, tmp_path / "cache")


class FakeEnsemble:
    """Stands in for nasbench301's ensemble: scores a genotype by its count of separable convolutions."""

    def predict(self, config: Any, representation: str, with_noise: bool) -> float:
        assert representation == "genotype" and with_noise is False
        return 90.0 + sum(op.startswith("sep") for op, _ in config.normal) / 2


def test_official_model_on_the_same_split(nb301_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("nasbench301")
    module.load_ensemble = lambda path: FakeEnsemble()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nasbench301", module)
    (tmp_path / "nb_models_1.0").mkdir()
    official = official_nb301_surrogate(nb301_folder, tmp_path / "nb_models_1.0")
    ours = fit_nb301_surrogate(nb301_folder, tmp_path / "gbt", "gbt", n_estimators=50)
    assert official.heldout is not None and ours.heldout is not None
    assert official.heldout.genotypes == ours.heldout.genotypes
    genotype = DartsSpace().parse(official.heldout.genotypes[0])
    expected = 90.0 + sum(op.startswith("sep") for op, _ in genotype.normal.edges) / 2
    assert official.evaluate([genotype])[0] == expected == official.heldout.predicted[0]
    assert json.loads(official.heldout.to_json())["n_train"] == 48
