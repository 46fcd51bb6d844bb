"""SurrogateBenchmark (redundancy paper App. F): fit, held-out Spearman, evaluator protocol, NB301 hint."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from nasaudit.errors import ConfigError, DataError
from nasaudit.evaluators import Evaluator
from nasaudit.spaces import DartsSpace, NB201Space
from nasaudit.truth.surrogate import SurrogateBenchmark, holdout_spearman, load_nb301


class ConvCount:
    """Ground truth of a synthetic benchmark: 3x3 convolutions count most, then 1x1 ones."""

    space = NB201Space()

    def evaluate(self, archs):
        return np.array([2.0 * a.ops.count("nor_conv_3x3") + a.ops.count("nor_conv_1x1") for a in archs])


@pytest.mark.parametrize("model", ["gbt", "ensemble"])
def test_learns_a_synthetic_benchmark(model):
    surrogate = SurrogateBenchmark.from_samples(ConvCount(), n=200, seed=0, model=model, encoding="onehot")
    assert isinstance(surrogate, Evaluator)
    assert holdout_spearman(surrogate, ConvCount(), n=200, seed=1) > 0.9
    archs = NB201Space().sample_many(5, seed=2)
    again = SurrogateBenchmark.from_samples(ConvCount(), n=200, seed=0, model=model, encoding="onehot")
    np.testing.assert_array_equal(surrogate.evaluate(archs), again.evaluate(archs))


def test_ensemble_spread_and_errors():
    space = NB201Space()
    archs = space.sample_many(50, seed=0)
    ensemble = SurrogateBenchmark(space, model="ensemble", encoding="onehot", epochs=50)
    with pytest.raises(ConfigError, match="not fitted"):
        ensemble.evaluate(archs)
    ensemble.fit(archs, ConvCount().evaluate(archs))
    assert ensemble.predict_std(archs).shape == (50,) and (ensemble.predict_std(archs) >= 0).all()
    with pytest.raises(ConfigError, match="ensemble"):
        SurrogateBenchmark(space).fit(archs, ConvCount().evaluate(archs)).predict_std(archs)
    with pytest.raises(ConfigError, match="unknown surrogate model"):
        SurrogateBenchmark(space, model="forest")
    with pytest.raises(DataError, match="scores for"):
        SurrogateBenchmark(space).fit(archs, np.zeros(3))


def test_darts_space_falls_back_to_the_adjacency_encoding():
    space = DartsSpace()
    archs = space.sample_many(40, seed=0)
    scores = np.array([sum(op == "skip_connect" for op, _ in g.normal.edges) for g in archs], dtype=float)
    surrogate = SurrogateBenchmark(space, n_estimators=50).fit(archs, scores)
    assert surrogate.encoder.name == "adjacency" and surrogate.evaluate(archs[:3]).shape == (3,)


def test_real_nb201_200_random_architectures(nb201_csv):
    from nasaudit.truth.tabular import TabularBenchmark

    truth = TabularBenchmark.from_file(nb201_csv).evaluator("test_acc", "cifar100")
    surrogate = SurrogateBenchmark.from_samples(truth, n=200, seed=0)
    assert surrogate.encoder.name == "path"  # BANANAS's encoding where the space allows it (App. F)
    assert holdout_spearman(surrogate, truth, n=200, seed=1) > 0.7


@pytest.mark.skipif(importlib.util.find_spec("nasbench301") is not None, reason="nasbench301 is installed")
def test_nb301_loader_explains_the_optional_extra(tmp_path):
    with pytest.raises(ConfigError, match="pip install nasbench301"):
        load_nb301(tmp_path)


def test_any_registered_predictor_is_a_surrogate_model():
    space = NB201Space()
    archs = space.sample_many(30, seed=0)
    gp = SurrogateBenchmark(space, model="gp", encoding="onehot").fit(archs, ConvCount().evaluate(archs))
    assert gp.encoding == "onehot" and gp.predict_std(archs[:4]).shape == (4,)
    with pytest.raises(ConfigError, match=r"^predict_std needs a predictor with a spread .*; rf gives none$"):
        SurrogateBenchmark(space, model="rf").fit(archs, ConvCount().evaluate(archs)).predict_std(archs)
    with pytest.raises(ConfigError, match=r"unknown surrogate model 'gpp' \(did you mean 'gp'\?\)"):
        SurrogateBenchmark(space, model="gpp")
