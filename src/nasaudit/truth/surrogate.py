"""Surrogate benchmarks: a performance predictor fit on (architecture, score) pairs, used as an evaluator.

The redundancy paper (App. F) shows that a surrogate fit on a few hundred random architectures suffices
to reproduce its operation-importance and subgraph findings on spaces without a table (BANANAS: an
ensemble of MLPs over the path encoding). ``SurrogateBenchmark`` is any predictor of
``nasaudit.predictors.PREDICTORS`` (``bananas``, alias ``ensemble``; ``gbt``; ``gp``; ``rf``; plugins') fit
once, over any encoding of ``nasaudit.spaces.encodings``. ``load_nb301`` wraps the
official NAS-Bench-301 surrogate (Siems et al., 2020) when its optional package is installed;
``read_nb301_results`` / ``nb301_benchmark`` read the NB301 training set (~50k trained DARTS genotypes);
``nasaudit.truth.nb301_surrogate`` fits NB301-style surrogates (GBT, GIN) on it.
"""

from __future__ import annotations

import inspect
from collections import namedtuple
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasaudit.errors import ArchitectureError, ConfigError, DataError
from nasaudit.evaluators import Evaluator
from nasaudit.predictors import PREDICTORS, Predictor
from nasaudit.registry import unknown_name_message
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsCell, DartsGenotype, DartsSpace
from nasaudit.truth.tabular import TabularBenchmark
from nasaudit.yamlio import loads_json

#: surrogate model names kept from before the surrogate used ``PREDICTORS``: ``ensemble`` is ``bananas``
MODEL_ALIASES = {"ensemble": "bananas"}
NB301_HINT = (
    "the official NAS-Bench-301 surrogate needs the optional package 'nasbench301' "
    "(pip install nasbench301, or the project's 'nb301' extra) and its model files "
    "(nb_models_1.0 from https://github.com/automl/nasbench301)"
)


def predictor_name(model: str) -> str:
    """The ``PREDICTORS`` name of surrogate model ``model`` (an alias resolved); an unknown name is the
    registry's one-line message (installed plugins are looked in first)."""
    name = MODEL_ALIASES.get(model, model) if isinstance(model, str) else model
    try:
        PREDICTORS.get(name)
    except ConfigError:
        raise ConfigError(unknown_name_message("surrogate model", model,
                                               sorted({*PREDICTORS.names(), *MODEL_ALIASES}))) from None
    return name


class SurrogateBenchmark:
    """A predictor of ``PREDICTORS`` fit once, implementing the ``Evaluator`` protocol (redundancy paper App. F).

    ``model`` is a ``PREDICTORS`` name or ``ensemble`` (the BANANAS MLP ensemble, ``bananas``); ``bananas`` and
    ``gp`` also give ``predict_std``. ``encoding="auto"`` uses the path encoding where the space allows it
    (BANANAS, redundancy paper App. F) and the adjacency encoding otherwise (e.g. DARTS's two-input cells);
    ``model_params`` override the shipped predictors' regressor settings. A plugin's predictor takes them only if
    its factory accepts them. The fit's seed is one integer drawn from ``seed``.
    """

    def __init__(self, space: SearchSpace, model: str = "gbt", encoding: str = "auto",
                 seed: SeedLike = 0, **model_params: Any) -> None:
        self.space = space
        self.model = model
        self.predictor_name = predictor_name(model)
        self.seed = int(as_generator(seed).integers(2**31 - 1))
        self.model_params = model_params
        self._predictor = _make_predictor(self.predictor_name, space, encoding, model_params)
        self.encoder = getattr(self._predictor, "encoder", None)
        #: the encoding's name, or ``own`` for a predictor that encodes architectures itself
        self.encoding = str(getattr(self.encoder, "name", "own"))
        self._fitted = False

    def __repr__(self) -> str:
        return f"SurrogateBenchmark(space={self.space.name!r}, model={self.model!r}, encoding={self.encoding!r})"

    @classmethod
    def from_samples(cls, truth: Evaluator, n: int = 200, seed: SeedLike = 0, **kwargs: Any) -> SurrogateBenchmark:
        """Fit on ``n`` uniform random archs of ``truth.space`` scored by ``truth`` (App. F: 200 samples)."""
        rng = as_generator(seed)
        archs = truth.space.sample_many(n, rng)
        return cls(truth.space, seed=rng, **kwargs).fit(archs, truth.evaluate(archs))

    def fit(self, archs: Sequence[Any], scores: np.ndarray) -> SurrogateBenchmark:
        """Fit the predictor on ``archs`` and their ``scores`` with the surrogate's seed (App. F); returns ``self``."""
        scores = np.asarray(scores, dtype=np.float64)
        if len(archs) != len(scores):
            raise DataError(f"{len(scores)} scores for {len(archs)} architectures")
        if len(archs) < 2:
            raise DataError(f"a surrogate needs at least 2 training architectures, got {len(archs)}")
        self._predictor.fit(archs, scores, self.seed)
        self._fitted = True
        return self

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """Predicted score of each architecture (batched), the surrogate ``y`` of App. F."""
        if len(archs) == 0:
            return np.empty(0, dtype=np.float64)
        return np.asarray(self._fitted_predictor().predict(archs), dtype=np.float64)

    def predict_std(self, archs: Sequence[Any]) -> np.ndarray:
        """Spread of the prediction of each architecture, for a predictor that has one (``bananas``/``ensemble``:
        the members' spread; ``gp``: the posterior standard deviation)."""
        spread = getattr(self._predictor, "predict_std", None)
        if not callable(spread) or getattr(self._predictor, "spread", True) is None:
            raise ConfigError(f"predict_std needs a predictor with a spread (bananas, alias ensemble, or gp); "
                              f"{self.model} gives none")
        self._fitted_predictor()
        return np.asarray(spread(archs), dtype=np.float64)

    def spearman(self, archs: Sequence[Any], scores: np.ndarray) -> float:
        """Spearman rank correlation between predictions and true ``scores`` of held-out ``archs`` (App. F, Fig. 30)."""
        scores = np.asarray(scores, dtype=np.float64)
        if len(archs) != len(scores) or len(archs) < 2:
            raise DataError(f"need at least 2 held-out architectures with one score each, got "
                            f"{len(archs)} and {len(scores)}")
        pair = pd.DataFrame({"predicted": self.evaluate(archs), "true": scores})
        return float(pair.corr(method="spearman").iloc[0, 1])

    def _fitted_predictor(self) -> Predictor:
        if not self._fitted:
            raise ConfigError("the surrogate is not fitted; call fit(archs, scores) or from_samples(...) first")
        return self._predictor


def _make_predictor(name: str, space: SearchSpace, encoding: str, params: dict[str, Any]) -> Predictor:
    """``PREDICTORS.get(name)(space)``, with ``encoding`` and ``params`` where they are not the defaults (one line
    when the factory takes no such arguments)."""
    factory = PREDICTORS.get(name)
    settings: dict[str, Any] = {**({"encoding": encoding} if encoding != "auto" else {}), **params}
    if not settings:
        return factory(space)
    try:
        inspect.signature(factory).bind(space, **settings)
    except (TypeError, ValueError):
        raise ConfigError(f"predictor {name!r} takes no settings {sorted(settings)}; its factory takes the space "
                          "only") from None
    factory_with_settings: Any = factory
    return factory_with_settings(space, **settings)


def holdout_spearman(surrogate: SurrogateBenchmark, truth: Evaluator, n: int = 200, seed: SeedLike = 1) -> float:
    """Spearman of ``surrogate`` against ``truth`` on ``n`` fresh uniform random archs (App. F, Fig. 30)."""
    archs = truth.space.sample_many(n, seed)
    return surrogate.spearman(archs, truth.evaluate(archs))


# ------------------------------------------------------------------------------ NAS-Bench-301
#: NB301's genotype type: the model reads the ``Genotype(...)`` of its own release, so the name must match
Genotype = namedtuple("Genotype", "normal normal_concat reduce reduce_concat")


class NB301Surrogate:
    """The official NAS-Bench-301 ensemble as an ``Evaluator`` over the DARTS space (validation accuracy, %)."""

    def __init__(self, model: Any, space: DartsSpace, with_noise: bool = False) -> None:
        self.model = model
        self.space = space
        self.with_noise = with_noise

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """NB301's predicted accuracy of each genotype (its API scores one genotype per call)."""
        out = np.empty(len(archs), dtype=np.float64)
        for i, arch in enumerate(archs):
            genotype = self.space.coerce(arch)
            config = Genotype(*(x for c in CELL_TYPES for x in (list(genotype.cell(c).edges),
                                                                 list(genotype.cell(c).concat))))
            out[i] = float(self.model.predict(config=config, representation="genotype", with_noise=self.with_noise))
        return out


def load_nb301(model_dir: str | Path, with_noise: bool = False) -> NB301Surrogate:
    """Load the official NAS-Bench-301 surrogate ensemble from ``model_dir`` (optional extra)."""
    try:
        import nasbench301
    except ImportError:
        raise ConfigError(NB301_HINT) from None
    path = Path(model_dir)
    if not path.is_dir():
        raise DataError(f"NAS-Bench-301 model folder not found: {path}; {NB301_HINT}")
    return NB301Surrogate(nasbench301.load_ensemble(str(path)), DartsSpace(), with_noise=with_noise)


# ------------------------------------------------------------------------------ NAS-Bench-301 training data
NB301_KEY_PREFIX = "NetworkSelectorDatasetInfo:darts:"
#: columns of ``read_nb301_results`` besides ``genotype`` and ``optimizer``
NB301_RESULT_COLUMNS: tuple[str, ...] = ("val_accuracy", "test_accuracy", "train_accuracy_final",
                                         "model_parameters", "runtime", "budget")


def nb301_config_to_genotype(config: dict[str, Any]) -> DartsGenotype:
    """The DARTS genotype of an NB301 configuration (nasbench301's ``convert_config_to_genotype``).

    Node ``i + 2`` owns the mixed edges ``start .. start + i + 1`` (``start`` = 0, 2, 5, 9); a present key
    ``...:edge_<cell>_<j>`` puts its op on input ``j - start``. Each node must have exactly two edges.
    """
    space = DartsSpace()
    cells = []
    for cell_type in CELL_TYPES:
        edges: list[tuple[str, int]] = []
        for node in range(space.n_nodes):
            start = space.mixed_edge(node, 0)
            found = [(str(config[key]), j) for j in range(node + 2)
                     if (key := f"{NB301_KEY_PREFIX}edge_{cell_type}_{start + j}") in config]
            if len(found) != 2:
                raise DataError(f"NB301 config: {cell_type} node {node + 2} has {len(found)} edges, expected 2")
            edges.extend(found)
        cells.append(DartsCell(tuple(edges), space.concat))
    genotype = DartsGenotype(cells[0], cells[1])
    try:
        space.validate(genotype)
    except ArchitectureError as err:
        raise DataError(f"NB301 config is not a DARTS genotype: {err}") from None
    return genotype


def genotype_to_nb301_config(genotype: DartsGenotype) -> dict[str, str]:
    """The architecture keys of an NB301 configuration for a DARTS genotype (inverse of the above)."""
    space = DartsSpace()
    config: dict[str, str] = {}
    for cell_type in CELL_TYPES:
        cell = genotype.cell(cell_type)
        for node in range(space.n_nodes):
            pair = sorted(cell.edges[2 * node:2 * node + 2], key=lambda edge: edge[1])
            for op, src in pair:
                config[f"{NB301_KEY_PREFIX}edge_{cell_type}_{space.mixed_edge(node, src)}"] = op
            if node:
                config[f"{NB301_KEY_PREFIX}inputs_node_{cell_type}_{node + 2}"] = f"{pair[0][1]}_{pair[1][1]}"
    return config


def read_nb301_results(folder: str | Path) -> pd.DataFrame:
    """The NB301 training set (``nb_301_v13_lc_iclr_final``: ``<optimizer>/<name>.json``, ~50k files) as a table.

    Each JSON holds ``optimized_hyperparamater_config`` (sic, the release's key) with the genotype keys,
    ``test_accuracy``, ``runtime``, ``budget`` and ``info[0]`` with ``val_accuracy``,
    ``train_accuracy_final`` and ``model_parameters``. One row per file, in sorted path order: ``genotype``
    (our DARTS string), ``optimizer`` (the sub-folder), ``file`` and ``NB301_RESULT_COLUMNS``.
    Files are read one at a time.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"NB301 results folder not found: {root} (the nb_301_v13_lc_iclr_final folder)")
    paths = sorted(root.glob("*/*.json"))
    if not paths:
        raise DataError(f"{root}: no <optimizer>/<name>.json result files")
    space = DartsSpace()
    records = []
    for path in paths:
        try:
            result = loads_json(path.read_bytes(), "the file")
            info = result["info"][0]
            genotype = nb301_config_to_genotype(result["optimized_hyperparamater_config"])
            records.append({"genotype": space.format(genotype), "optimizer": path.parent.name,
                            "file": str(path.relative_to(root)), "val_accuracy": float(info["val_accuracy"]),
                            "test_accuracy": float(result["test_accuracy"]),
                            "train_accuracy_final": float(info["train_accuracy_final"]),
                            "model_parameters": float(info["model_parameters"]),
                            "runtime": float(result["runtime"]), "budget": float(result["budget"])})
        except (OSError, ValueError, KeyError, IndexError, TypeError, DataError) as err:
            raise DataError(f"{path}: not an NB301 result file ({type(err).__name__}: {err})") from None
    return pd.DataFrame.from_records(records)


def nb301_benchmark(folder: str | Path,
                    metrics: Sequence[str] = ("val_accuracy", "test_accuracy")) -> TabularBenchmark:
    """The NB301 training set as a ``TabularBenchmark`` over ``DartsSpace``: one row per genotype (files of
    the same genotype averaged), for the top-5% analyses of the redundancy paper (Sec. 3, App. F)."""
    unknown = [m for m in metrics if m not in NB301_RESULT_COLUMNS]
    if unknown:
        raise DataError(f"unknown NB301 metric(s) {unknown}; choose from {list(NB301_RESULT_COLUMNS)}")
    table = read_nb301_results(folder).groupby("genotype", sort=False)[list(metrics)].mean().reset_index()
    return TabularBenchmark.from_frame(table, DartsSpace(), "genotype", list(metrics), source=str(folder))
