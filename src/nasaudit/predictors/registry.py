"""Named performance predictors over a space's architectures, the kind White et al. ("How powerful are
performance predictors in NAS?", NeurIPS 2021) compare: ``bananas`` (the MLP ensemble on the path encoding),
``gbt`` (LightGBM), ``gp`` (a Gaussian process) and ``rf`` (a random forest), each a regressor over the space's
encoding.

An entry of ``PREDICTORS`` takes the space and returns a ``Predictor``: ``fit(archs, scores, seed)`` trains it
(the same seed and data give the same predictor) and ``predict(archs)`` scores architectures, higher = better.
Plugins register more with ``PREDICTORS.add(name, factory)``. The shipped factories also take ``encoding`` and
keyword settings of their regressor (``gbt_predictor(space, n_estimators=50)``), which the surrogate benchmark
(``nasaudit.truth.surrogate``) passes on; ``bananas`` and ``gp`` give ``predict_std``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from nasaudit.errors import ConfigError, DataError, SpaceError
from nasaudit.predictors.ensemble import EnsemblePredictor
from nasaudit.registry import Registry
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.encodings import Encoding, get_encoding

#: LightGBM settings for a few hundred samples: small leaves, many shallow rounds, row/feature bagging
GBT_DEFAULTS: dict[str, Any] = {
    "n_estimators": 500, "learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 5,
    "subsample": 0.8, "subsample_freq": 1, "colsample_bytree": 0.8, "n_jobs": 1,
    "deterministic": True, "force_row_wise": True, "verbose": -1,
}


class Predictor(Protocol):
    """What the predictor audit needs of a predictor."""

    def fit(self, archs: Sequence[Any], scores: np.ndarray, seed: int) -> Predictor:
        """Train on ``archs`` and their ``scores``; returns the predictor."""
        ...

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        """One predicted score per architecture."""
        ...


class Regressor(Protocol):
    """A scikit-learn-style regressor on feature matrices."""

    def fit(self, X: np.ndarray, y: np.ndarray) -> Any: ...

    def predict(self, X: np.ndarray) -> Any: ...


def space_encoding(space: SearchSpace, encoding: str = "auto") -> Encoding:
    """The encoding ``encoding`` of ``space``; ``auto`` is the path encoding where the space allows it
    (BANANAS) and the adjacency encoding otherwise (e.g. DARTS's two-input cells)."""
    if encoding != "auto":
        return get_encoding(encoding, space)
    try:
        return get_encoding("path", space)
    except SpaceError:
        return get_encoding("adjacency", space)


#: the spread of a fitted regressor's predictions on a feature matrix (an ensemble's members, a GP's posterior)
Spread = Callable[[Any, np.ndarray], np.ndarray]


class SpacePredictor:
    """A regressor over the encoding of a space's architectures, rebuilt from its seed by every ``fit``;
    ``spread``, where the regressor has one, gives ``predict_std``."""

    def __init__(self, space: SearchSpace, make_regressor: Callable[[int], Regressor], encoding: str = "auto",
                 spread: Spread | None = None) -> None:
        self.space = space
        self.encoder = space_encoding(space, encoding)
        self.make_regressor = make_regressor
        self.spread = spread
        self._regressor: Regressor | None = None

    def fit(self, archs: Sequence[Any], scores: np.ndarray, seed: int) -> SpacePredictor:
        """Train a fresh regressor seeded by ``seed`` on ``archs`` and ``scores``."""
        targets = np.asarray(scores, dtype=np.float64)
        if targets.ndim != 1 or len(archs) != targets.size:
            raise DataError(f"a predictor needs one score per architecture, got {targets.size} for {len(archs)}")
        if targets.size < 2 or not np.all(np.isfinite(targets)):
            raise DataError(f"a predictor needs at least 2 finite training scores, got {targets.size} "
                            f"({int((~np.isfinite(targets)).sum())} not finite)")
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
            raise ConfigError(f"a predictor's seed must be an integer in [0, 2**31), got {seed!r}")
        regressor = self.make_regressor(seed)
        with warnings.catch_warnings():  # the GP's optimiser warns when a kernel bound is reached
            warnings.simplefilter("ignore", category=UserWarning)
            regressor.fit(self._features(archs), targets)
        self._regressor = regressor
        return self

    def predict(self, archs: Sequence[Any]) -> np.ndarray:
        """The regressor's prediction for each architecture."""
        regressor = self._fitted()
        if len(archs) == 0:
            return np.empty(0, dtype=np.float64)
        return np.asarray(regressor.predict(self._features(archs)), dtype=np.float64)

    def predict_std(self, archs: Sequence[Any]) -> np.ndarray:
        """The spread of the prediction of each architecture (``spread``; an error for a regressor without one)."""
        if self.spread is None:
            raise ConfigError("this predictor gives no spread; predict_std needs bananas (the MLP ensemble) or gp")
        regressor = self._fitted()
        if len(archs) == 0:
            return np.empty(0, dtype=np.float64)
        return np.asarray(self.spread(regressor, self._features(archs)), dtype=np.float64)

    def _fitted(self) -> Regressor:
        if self._regressor is None:
            raise ConfigError("the predictor is not fitted; call fit(archs, scores, seed) first")
        return self._regressor

    def _features(self, archs: Sequence[Any]) -> np.ndarray:
        return self.encoder.encode([self.space.coerce(a) for a in archs]).astype(np.float64)


def _callable_factory(name: str, entry: Callable[[SearchSpace], Predictor]) -> str | None:
    return None if callable(entry) else "a predictor entry must be callable: space -> Predictor"


PREDICTORS: Registry[Callable[[SearchSpace], Predictor]] = Registry("predictor", ConfigError, _callable_factory)


@PREDICTORS.register("bananas", "BANANAS: an ensemble of 5 MLPs on the path encoding (White et al. 2021)")
def bananas_predictor(space: SearchSpace, encoding: str = "auto", **params: Any) -> Predictor:
    """The BANANAS ensemble with its default settings (5 members of two 32-unit layers, 200 Adam epochs; ``params``
    override ``EnsemblePredictor``'s); ``predict_std`` is the members' spread."""
    return SpacePredictor(space, lambda seed: EnsemblePredictor(**{"seed": seed, **params}), encoding,
                          spread=lambda ensemble, features: ensemble.predict_std(features))


@PREDICTORS.register("gbt", "LightGBM gradient-boosted trees on the encoding")
def gbt_predictor(space: SearchSpace, encoding: str = "auto", **params: Any) -> Predictor:
    """LightGBM with ``GBT_DEFAULTS`` (deterministic, one thread; ``params`` override them)."""
    from lightgbm import LGBMRegressor

    return SpacePredictor(space, lambda seed: LGBMRegressor(**{**GBT_DEFAULTS, "random_state": seed, **params}),
                          encoding)


@PREDICTORS.register("gp", "Gaussian process (constant x RBF + white noise kernel) on the encoding")
def gp_predictor(space: SearchSpace, encoding: str = "auto", **params: Any) -> Predictor:
    """scikit-learn's GaussianProcessRegressor on standardised targets; the kernel's hyperparameters by maximum
    marginal likelihood from one start (deterministic; ``params`` override the regressor's settings);
    ``predict_std`` is the posterior standard deviation."""
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    def make(seed: int) -> Regressor:
        kernel = ConstantKernel(1.0) * RBF(length_scale=1.0) + WhiteKernel(noise_level=0.1)
        return GaussianProcessRegressor(**{"kernel": kernel, "normalize_y": True, "random_state": seed, **params})

    return SpacePredictor(space, make, encoding,
                          spread=lambda gp, features: gp.predict(features, return_std=True)[1])


@PREDICTORS.register("rf", "random forest (100 trees) on the encoding")
def rf_predictor(space: SearchSpace, encoding: str = "auto", **params: Any) -> Predictor:
    """scikit-learn's RandomForestRegressor, 100 trees, one thread (``params`` override them)."""
    from sklearn.ensemble import RandomForestRegressor

    return SpacePredictor(space, lambda seed: RandomForestRegressor(
        **{"n_estimators": 100, "random_state": seed, "n_jobs": 1, **params}), encoding)


def predictor_identity(name: str) -> dict[str, str]:
    """What a result fit with predictor ``name`` depends on beyond its name: nothing for the package's own (its
    version is in every result key); for a plugin's or a user's, the registering plugin (``PREDICTORS.origin``),
    the factory's module and name, and the sha256 of that module's file, so editing it refits."""
    import sys

    from nasaudit.jobs.provenance import file_sha256

    factory = PREDICTORS.get(name)
    module = getattr(factory, "__module__", None) or ""
    if module == "nasaudit" or module.startswith("nasaudit."):
        return {}
    out = {"module": module, "factory": str(getattr(factory, "__qualname__", type(factory).__qualname__))}
    origin = PREDICTORS.origin(name)
    if origin is not None:
        out["origin"] = origin
    source = getattr(sys.modules.get(module), "__file__", None)
    if source is not None:
        out["sha256"] = file_sha256(source)
    return out
