"""EnsemblePredictor: correct gradients, learns, reproducible, members disagree off the data, clear errors; the
PREDICTORS registry: each predictor learns a cell's path count, is reproducible per seed, and refuses bad input in a line."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.errors import ConfigError, DataError
from nasaudit.metrics import kendall_tau
from nasaudit.predictors import PREDICTORS, EnsemblePredictor, space_encoding
from nasaudit.spaces import get_space


def test_gradient_matches_finite_differences() -> None:
    rng = np.random.default_rng(0)
    model = EnsemblePredictor(n_members=2, hidden_sizes=(5, 4))
    inputs, targets = rng.normal(size=(7, 3)), rng.normal(size=(1, 7, 1))
    theta, grad = model._init_parameters(3, np.random.default_rng(1))
    model._gradient(inputs, targets, grad)

    def loss() -> float:
        return float(((model._forward(inputs)[-1] - targets) ** 2).mean(axis=(1, 2)).sum())

    numeric = np.empty_like(theta)
    for i in range(theta.size):
        keep = theta[i]
        theta[i] = keep + 1e-6
        up = loss()
        theta[i] = keep - 1e-6
        numeric[i] = (up - loss()) / 2e-6
        theta[i] = keep
    assert np.allclose(numeric, grad, atol=1e-7)


def test_fits_a_linear_target_and_is_reproducible() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(200, 20)).astype(float)
    y = X @ rng.normal(size=20) + 70.0
    X_test = rng.integers(0, 2, size=(300, 20)).astype(float)
    y_test = X_test @ np.linalg.lstsq(np.c_[X, np.ones(200)], y, rcond=None)[0][:-1] + 70.0
    model = EnsemblePredictor(seed=3).fit(X, y)
    assert np.corrcoef(model.predict(X_test), y_test)[0, 1] > 0.95
    again = EnsemblePredictor(seed=3).fit(X, y)
    assert np.array_equal(model.predict(X_test), again.predict(X_test))
    members = model.predict_members(X_test)
    assert members.shape == (5, 300)
    assert np.allclose(model.predict_std(X_test), members.std(axis=0))
    assert model.predict_std(X_test).mean() > 0


def test_errors() -> None:
    with pytest.raises(ConfigError, match="not fitted"):
        EnsemblePredictor().predict(np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="n_members"):
        EnsemblePredictor(n_members=0)
    with pytest.raises(DataError, match="shape"):
        EnsemblePredictor().fit(np.zeros((4, 3)), np.zeros(5))
    with pytest.raises(DataError, match="finite"):
        EnsemblePredictor().fit(np.full((4, 3), np.nan), np.zeros(4))
    model = EnsemblePredictor(epochs=2).fit(np.eye(4), np.arange(4.0))
    with pytest.raises(DataError, match="shape"):
        model.predict(np.zeros((2, 5)))


def _path_counts(n: int, seed: int) -> tuple[list, np.ndarray]:
    """``n`` NB201 cells scored by how many input-to-output paths they keep (the sum of their path encoding)."""
    space = get_space("nb201")
    archs = space.sample_many(n, seed)
    return archs, space_encoding(space).encode(archs).sum(axis=1).astype(np.float64)


@pytest.mark.parametrize("name", ["bananas", "gbt", "gp", "rf"])
def test_each_predictor_ranks_cells_by_their_paths_and_repeats_per_seed(name: str) -> None:
    archs, scores = _path_counts(80, 0)
    space = get_space("nb201")
    first = PREDICTORS.get(name)(space).fit(archs[:50], scores[:50], 3).predict(archs[50:])
    again = PREDICTORS.get(name)(space).fit(archs[:50], scores[:50], 3).predict(archs[50:])
    assert np.array_equal(first, again)
    assert kendall_tau(scores[50:], first) > 0.2  # 50 training cells; chance is 0


@pytest.mark.parametrize("name", ["bananas", "gbt", "rf"])
def test_the_seed_changes_a_randomised_predictor(name: str) -> None:
    archs, scores = _path_counts(40, 1)
    space = get_space("nb201")
    predictions = [PREDICTORS.get(name)(space).fit(archs[:30], scores[:30], seed).predict(archs[30:])
                   for seed in (0, 1)]
    assert not np.array_equal(*predictions)


def test_registry_errors_are_one_line() -> None:
    archs, scores = _path_counts(5, 2)
    space = get_space("nb201")
    with pytest.raises(ConfigError, match=r"unknown predictor 'gpp' \(did you mean 'gp'\?\)"):
        PREDICTORS.get("gpp")
    with pytest.raises(ConfigError, match="must be callable"):
        PREDICTORS.add("not_a_factory", 3)  # type: ignore[arg-type]
    predictor = PREDICTORS.get("rf")(space)
    with pytest.raises(ConfigError, match="not fitted"):
        predictor.predict(archs)
    with pytest.raises(DataError, match="at least 2 finite training scores, got 1"):
        predictor.fit(archs[:1], scores[:1], 0)
    with pytest.raises(DataError, match="one score per architecture, got 4 for 5"):
        predictor.fit(archs, scores[:4], 0)
    with pytest.raises(ConfigError, match=r"seed must be an integer in \[0, 2\*\*31\), got -1"):
        predictor.fit(archs, scores, -1)
    assert "not_a_factory" not in PREDICTORS


def test_spread_settings_and_encoding_of_the_shipped_factories() -> None:
    archs, scores = _path_counts(30, 3)
    space = get_space("nb201")
    for name in ("bananas", "gp"):  # the members' spread; the GP's posterior standard deviation
        predictor = PREDICTORS.get(name)(space)
        with pytest.raises(ConfigError, match="not fitted"):
            predictor.predict_std(archs)  # type: ignore[attr-defined]
        spread = predictor.fit(archs[:20], scores[:20], 0).predict_std(archs[20:])  # type: ignore[attr-defined]
        assert spread.shape == (10,) and (spread >= 0).all() and spread.max() > 0
    with pytest.raises(ConfigError, match="gives no spread"):
        PREDICTORS.get("rf")(space).fit(archs, scores, 0).predict_std(archs)  # type: ignore[attr-defined]
    small = PREDICTORS.get("rf")(space, encoding="onehot", n_estimators=3)  # type: ignore[call-arg]
    assert small.encoder.name == "onehot"  # type: ignore[attr-defined]
    assert len(small.fit(archs, scores, 0)._regressor.estimators_) == 3  # type: ignore[attr-defined]
