"""A surrogate benchmark fit on a user's NAS-Bench-301 training data, the way NAS-Bench-301 fit its own.

NAS-Bench-301 (Siems et al., 2020, arXiv:2008.09777, Sec. 4; release automl/nasbench301 @ 58ca2cba) fits
regression models on its ~50k trained DARTS genotypes, splits the unique configurations 0.8/0.1/0.1 into
train/validation/test (``surrogate_models/utils.py``, ``ResultLoader.get_splits``) and reports R^2 and the
sparse Kendall tau (predictions rounded to 0.1 %, ``evaluate_metrics``' ``kendall_tau_1_dec``) on the test
split. Its best models were gradient-boosted trees (XGB, LGB) on the ConfigSpace encoding of a configuration
and a GIN on the cell graphs. Here:

* ``gbt``: LightGBM on ``nb301_config_features``, NB301's encoding: each architecture hyperparameter of
  ``nasbench301/configspace.json`` (``edge_<cell>_<k>``, ``inputs_node_<cell>_<n>``) as the index of its value
  among that hyperparameter's choices, -1 where it is inactive (ConfigSpace's ``get_array`` with NaN imputed
  to -1, as NB301's XGB/LGB models do); early stopping on the validation split.
* ``gbt_ops``: the same LightGBM on ``op_count_features`` (per cell, how many edges hold each op, and how many of
  them leave a cell input): not NB301's, but the encoding a table of a few hundred cells can learn from (on the shipped
  ``darts_fashion``'s 172 cells, 10-fold out-of-fold Kendall tau 0.43 against 0.20 for the config encoding, whose
  34 categorical columns so few rows cannot split).
* ``gin``: ``nasaudit.truth.gin``, best validation epoch kept.
* ``official``: the released NB301 ensemble (optional extra ``nb301``) scored on the same test split.

The training data is an NB301 results folder or a DARTS-space benchmark table (a CSV/parquet with a column of
DARTS genotype strings, as ``nasaudit bench export`` writes). A table of a few dozen rows leaves NB301's test tenth
a handful of points, so ``heldout="kfold"`` predicts every genotype by a model fit on the other folds (seeded
fold assignment; each fit stops early on a seeded tenth of its own training rows) and then fits the model used
as the evaluator on all rows the same way.

A fit is saved to a folder and read back before use, so a fresh fit and a cached one score identically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from nasaudit._atomic import atomic_write
from nasaudit.errors import DataError
from nasaudit.metrics.correlation import kendall_tau, spearman
from nasaudit.predictors import GBT_DEFAULTS
from nasaudit.spaces.darts import CELL_TYPES, DartsGenotype, DartsSpace
from nasaudit.truth.gin import GINRegressor, GINSettings, cell_graphs
from nasaudit.truth.surrogate import NB301_KEY_PREFIX, genotype_to_nb301_config, read_nb301_results
from nasaudit.truth.tabular import ARCH_COLUMN, TabularBenchmark

NB301Model = Literal["gbt", "gbt_ops", "gin", "official"]
#: the models this module fits
FitModel = Literal["gbt", "gbt_ops", "gin"]
#: how the held-out predictions are made: NB301's test split, or out-of-fold predictions of every row
HeldOutMode = Literal["split", "kfold"]
#: the metrics of an NB301 results folder a surrogate may be fit on
NB301_FOLDER_METRICS: tuple[str, ...] = ("val_accuracy", "test_accuracy")
#: k of k-fold held-out predictions: the default and the bounds
DEFAULT_FOLDS, MIN_FOLDS, MAX_FOLDS = 10, 2, 20
#: share of a k-fold fit's training rows kept for early stopping (GBT) or the best epoch (GIN), as NB301's split
EARLY_STOP_FRACTION = 0.1
#: fewest distinct genotypes a k-fold fit accepts (as NB301's split needs) and fewest per fold
MIN_KFOLD_ROWS, MIN_ROWS_PER_FOLD = 12, 2
#: choice order of every ``edge_*`` hyperparameter in ``nasbench301/configspace.json``
NB301_OP_CHOICES: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                                     "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
#: NB301's train/validation/test fractions of the unique configurations
SPLIT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
#: the sparse Kendall tau rounds predictions to this many decimals (0.1 % accuracy)
SPARSE_DECIMALS = 1
#: NB301's published test-split figures (no Spearman is published there). Source: Siems et al., "NAS-Bench-301
#: and the case for surrogate benchmarks for neural architecture search", arXiv:2008.09777 (latest version),
#: Table 3, test split; transcribed from a reading note of the paper, not from the PDF itself: check them there.
NB301_PUBLISHED: dict[str, dict[str, float]] = {
    "GIN": {"r2": 0.804, "sparse_kendall": 0.782},
    "XGB": {"r2": 0.886, "sparse_kendall": 0.820},
    "LGB": {"r2": 0.894, "sparse_kendall": 0.814},
}
NB301_PUBLISHED_SOURCE = "Siems et al. (arXiv:2008.09777), Table 3, test split"
#: files of a saved fit; the held-out record is written last and marks the fit complete
MODEL_FILE, HELDOUT_FILE = "model.bin", "heldout.json"
#: genotypes scored per GIN forward pass
PREDICT_BATCH = 4096


def nb301_config_features(genotypes: list[DartsGenotype]) -> np.ndarray:
    """NB301's encoding of each genotype: per cell, 14 ``edge_`` and 3 ``inputs_node_`` choice indices (-1 inactive)."""
    space = DartsSpace()
    pairs = {node: [f"{a}_{b}" for a in range(node) for b in range(a + 1, node)] for node in range(3, 6)}
    rows = np.full((len(genotypes), 2 * (space.n_mixed_edges + 3)), -1.0, dtype=np.float64)
    for i, genotype in enumerate(genotypes):
        config = genotype_to_nb301_config(genotype)
        column = 0
        for cell_type in CELL_TYPES:
            for k in range(space.n_mixed_edges):
                op = config.get(f"{NB301_KEY_PREFIX}edge_{cell_type}_{k}")
                if op is not None:
                    rows[i, column] = NB301_OP_CHOICES.index(op)
                column += 1
            for node, choices in pairs.items():
                rows[i, column] = choices.index(config[f"{NB301_KEY_PREFIX}inputs_node_{cell_type}_{node}"])
                column += 1
    return rows


def op_count_features(genotypes: list[DartsGenotype]) -> np.ndarray:
    """Per cell type and op of the DARTS space: the edges holding it, and those of them fed by a cell input."""
    ops = DartsSpace().ops
    rows = np.zeros((len(genotypes), 2 * 2 * len(ops)), dtype=np.float64)
    for i, genotype in enumerate(genotypes):
        column = 0
        for cell_type in CELL_TYPES:
            edges = genotype.cell(cell_type).edges
            for from_inputs in (False, True):
                for op in ops:
                    rows[i, column] = sum(o == op and (not from_inputs or src in (0, 1)) for o, src in edges)
                    column += 1
    return rows


#: the features of each tree model
GBT_FEATURES: dict[str, Callable[[list[DartsGenotype]], np.ndarray]] = {
    "gbt": nb301_config_features, "gbt_ops": op_count_features}


def heldout_metrics(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """R^2, Spearman, Kendall tau and NB301's sparse Kendall tau of ``predicted`` against ``true``."""
    true, predicted = np.asarray(true, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    residual = float(((true - predicted) ** 2).sum())
    total = float(((true - true.mean()) ** 2).sum())
    return {"r2": 1.0 - residual / total if total > 0 else float("nan"), "spearman": spearman(true, predicted),
            "kendall": kendall_tau(true, predicted),
            "sparse_kendall": kendall_tau(true, np.round(predicted, SPARSE_DECIMALS))}


def nb301_split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded train/validation/test indices of ``n`` unique genotypes in NB301's 0.8/0.1/0.1 fractions."""
    n_train, n_val = int(SPLIT_FRACTIONS[0] * n), int(SPLIT_FRACTIONS[1] * n)
    if n_val < 1 or n - n_train - n_val < 2:
        raise DataError(f"{n} distinct genotypes are too few for NB301's 0.8/0.1/0.1 train/validation/test split "
                        "(at least 12 needed; NB301's own folder holds ~50k)")
    order = np.random.default_rng(seed).permutation(n)
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def kfold_too_few(n: int, folds: int) -> str | None:
    """Why ``n`` distinct genotypes are too few for ``folds``-fold held-out predictions, or None."""
    need = max(MIN_KFOLD_ROWS, MIN_ROWS_PER_FOLD * folds)
    if n >= need:
        return None
    return f"{n} distinct genotypes are too few for {folds}-fold held-out predictions (at least {need} needed)"


def kfold_assignment(n: int, folds: int, seed: int) -> np.ndarray:
    """The fold of each of ``n`` rows: a seeded permutation dealt out in turn, so fold sizes differ by at most one."""
    if not MIN_FOLDS <= folds <= MAX_FOLDS:
        raise DataError(f"folds must be between {MIN_FOLDS} and {MAX_FOLDS}, got {folds}")
    problem = kfold_too_few(n, folds)
    if problem is not None:
        raise DataError(problem)
    fold = np.empty(n, dtype=np.int64)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % folds
    return fold


def early_stopping_split(rows: np.ndarray, seed: int, part: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` split into the rows a k-fold fit trains on and a seeded tenth (at least one) it stops early on;
    ``part`` (the fold, or k for the final fit) makes each fit's draw its own."""
    order = np.random.default_rng([seed, part]).permutation(rows)
    n_stop = max(1, int(EARLY_STOP_FRACTION * len(rows)))
    return order[n_stop:], order[:n_stop]


@dataclass(frozen=True)
class HeldOut:
    """The held-out predictions of a fit: genotypes (DARTS strings), true and predicted scores. ``mode`` "split":
    NB301's test split, ``n_train``/``n_val`` the model's train and validation splits; "kfold": every genotype
    predicted by a model fit on the other ``folds`` - 1 folds, ``n_train``/``n_val`` the rows the final model
    (the evaluator) trained and stopped early on."""

    genotypes: list[str]
    true: np.ndarray
    predicted: np.ndarray
    n_train: int
    n_val: int
    mode: HeldOutMode = "split"
    folds: int = 0

    @property
    def n_rows(self) -> int:
        """Distinct genotypes of the training data."""
        return len(self.genotypes) if self.mode == "kfold" else self.n_train + self.n_val + len(self.genotypes)

    def label(self) -> str:
        """``split 0.8/0.1/0.1`` or ``<k>-fold``."""
        return f"{self.folds}-fold" if self.mode == "kfold" else "split 0.8/0.1/0.1"

    def describe(self) -> str:
        """Which predictions are held out, in words."""
        if self.mode == "kfold":
            return (f"{self.folds}-fold out-of-fold predictions of all {self.n_rows} genotypes (the evaluator's model "
                    f"then fit on all of them: {self.n_train} trained on, {self.n_val} for early stopping)")
        return (f"the seeded test split, {len(self.genotypes)} of {self.n_rows} genotypes (0.8/0.1/0.1: "
                f"{self.n_train} train, {self.n_val} validation)")

    def metrics(self) -> dict[str, float]:
        return heldout_metrics(self.true, self.predicted)

    def to_json(self) -> str:
        return json.dumps({"genotypes": self.genotypes, "true": self.true.tolist(),
                           "predicted": self.predicted.tolist(), "n_train": self.n_train, "n_val": self.n_val,
                           "mode": self.mode, "folds": self.folds})

    @classmethod
    def from_json(cls, text: str) -> HeldOut:
        data = json.loads(text)
        mode: HeldOutMode = "kfold" if data.get("mode") == "kfold" else "split"
        return cls(list(data["genotypes"]), np.asarray(data["true"], dtype=np.float64),
                   np.asarray(data["predicted"], dtype=np.float64), int(data["n_train"]), int(data["n_val"]),
                   mode, int(data.get("folds", 0)))


class NB301FittedSurrogate:
    """A surrogate fit on NB301 training data, scoring any DARTS genotype (the ``Evaluator`` protocol); ``space``
    (an op-masked DARTS space, say) is where analyses draw neighbours, the whole DARTS space by default."""

    def __init__(self, model: NB301Model, regressor: Any, heldout: HeldOut | None = None,
                 space: DartsSpace | None = None) -> None:
        self.space = space or DartsSpace()
        self.model = model
        self.regressor = regressor
        self.heldout = heldout

    def __repr__(self) -> str:
        return f"NB301FittedSurrogate(model={self.model!r})"

    def evaluate(self, archs: Any) -> np.ndarray:
        """Predicted score of each genotype (batched)."""
        genotypes = [self.space.coerce(a) for a in archs]
        if not genotypes:
            return np.empty(0, dtype=np.float64)
        if self.model in GBT_FEATURES:
            return np.asarray(self.regressor.predict(GBT_FEATURES[self.model](genotypes)), dtype=np.float64)
        if self.model == "gin":
            return np.concatenate([self.regressor.predict(cell_graphs(self.space, genotypes[s:s + PREDICT_BATCH]))
                                   for s in range(0, len(genotypes), PREDICT_BATCH)])
        return np.asarray(self.regressor.evaluate(genotypes), dtype=np.float64)


def nb301_training_table(folder: str | Path, metric: str) -> tuple[list[DartsGenotype], np.ndarray]:
    """The unique genotypes of an NB301 results folder (in file order) and their ``metric``, duplicates averaged."""
    table = read_nb301_results(folder).groupby("genotype", sort=False)[metric].mean()
    space = DartsSpace()
    return [space.parse(text) for text in table.index], table.to_numpy(dtype=np.float64)


def darts_table_training_data(path: str | Path, metric: str,
                              arch_column: str = ARCH_COLUMN) -> tuple[list[DartsGenotype], np.ndarray]:
    """The genotypes of a DARTS-space benchmark table (CSV/parquet, one row per genotype in ``arch_column``, as
    ``nasaudit bench export`` writes) and its numeric column ``metric``, in table order; every row checked."""
    benchmark = TabularBenchmark.from_file(path, space=DartsSpace(), arch_column=arch_column, metric_columns=[metric])
    return list(benchmark.archs()), benchmark.scores(metric)


def nb301_training_data(source: str | Path, metric: str,
                        arch_column: str = ARCH_COLUMN) -> tuple[list[DartsGenotype], np.ndarray]:
    """The training data at ``source``: a benchmark table file, or else an NB301 results folder."""
    if Path(source).is_file():
        return darts_table_training_data(source, metric, arch_column)
    return nb301_training_table(source, metric)


def fit_nb301_surrogate(source: str | Path, cache: Path, model: FitModel = "gbt",
                        metric: str = "val_accuracy", seed: int = 0, gin: GINSettings | None = None,
                        n_estimators: int = GBT_DEFAULTS["n_estimators"], space: DartsSpace | None = None,
                        heldout: HeldOutMode = "split", folds: int = DEFAULT_FOLDS,
                        arch_column: str = ARCH_COLUMN) -> NB301FittedSurrogate:
    """The surrogate saved in ``cache``, or fit on ``source`` (an NB301 results folder or a DARTS benchmark table),
    saved there and read back. ``heldout="split"``: fit on the train split (validation split for early stopping),
    ``heldout`` holds the test split's predictions; ``"kfold"``: ``heldout`` holds every genotype's out-of-fold
    prediction and the model is fit on all rows (a seeded tenth of them for early stopping)."""
    if not (cache / HELDOUT_FILE).is_file():
        genotypes, scores = nb301_training_data(source, metric, arch_column)
        if heldout == "kfold":
            blob, record = _fit_kfold(genotypes, scores, model, seed, gin, n_estimators, folds)
            atomic_write(cache / MODEL_FILE, blob)
        else:
            train, val, test = nb301_split(len(genotypes), seed)
            split = {name: [genotypes[i] for i in index] for name, index in (("train", train), ("val", val),
                                                                              ("test", test))}
            blob = _fit(model, split["train"], scores[train], split["val"], scores[val], seed, gin, n_estimators)
            atomic_write(cache / MODEL_FILE, blob)
            fitted = _load(model, cache / MODEL_FILE)
            record = HeldOut([DartsSpace().format(g) for g in split["test"]], scores[test],
                             fitted.evaluate(split["test"]), len(train), len(val))
        atomic_write(cache / HELDOUT_FILE, record.to_json())
    fitted = _load(model, cache / MODEL_FILE)
    return NB301FittedSurrogate(model, fitted.regressor, HeldOut.from_json((cache / HELDOUT_FILE).read_text()), space)


def _fit_kfold(genotypes: list[DartsGenotype], scores: np.ndarray, model: FitModel, seed: int,
               gin: GINSettings | None, n_estimators: int, folds: int) -> tuple[bytes, HeldOut]:
    """Out-of-fold predictions of every genotype, then the model fit on all of them (each fit stopping early on
    a seeded tenth of its own training rows)."""
    fold = kfold_assignment(len(genotypes), folds, seed)
    predicted = np.empty(len(genotypes), dtype=np.float64)

    def fit(rows: np.ndarray, part: int) -> tuple[bytes, int, int]:
        train, stop = early_stopping_split(rows, seed, part)
        blob = _fit(model, [genotypes[i] for i in train], scores[train], [genotypes[i] for i in stop], scores[stop],
                    seed, gin, n_estimators)
        return blob, len(train), len(stop)

    for k in range(folds):
        out = np.flatnonzero(fold == k)
        blob, _, _ = fit(np.flatnonzero(fold != k), k)
        predicted[out] = _from_bytes(model, blob).evaluate([genotypes[i] for i in out])
    blob, n_train, n_stop = fit(np.arange(len(genotypes)), folds)
    return blob, HeldOut([DartsSpace().format(g) for g in genotypes], scores.astype(np.float64), predicted,
                         n_train, n_stop, "kfold", folds)


def official_nb301_surrogate(folder: str | Path, model_dir: str | Path, metric: str = "val_accuracy",
                             seed: int = 0, space: DartsSpace | None = None) -> NB301FittedSurrogate:
    """The released NB301 ensemble (``load_nb301``), with its predictions on the same seeded test split of
    ``folder`` as our fits (NB301's own split differs, so it may have been trained on some of these)."""
    from nasaudit.truth.surrogate import load_nb301

    if Path(folder).is_file():
        raise DataError(f"model: official is scored on the test split of an NB301 results folder, not on a table "
                        f"({Path(folder).name}); fit model: gbt or gin on a table")
    official = NB301FittedSurrogate("official", load_nb301(model_dir))
    genotypes, scores = nb301_training_table(folder, metric)
    train, val, test = nb301_split(len(genotypes), seed)
    chosen = [genotypes[i] for i in test]
    official_heldout = HeldOut([DartsSpace().format(g) for g in chosen], scores[test], official.evaluate(chosen),
                               len(train), len(val))
    return NB301FittedSurrogate("official", official.regressor, official_heldout, space)


def published_rows() -> pd.DataFrame:
    """NB301's published test-split figures, one row per model, for tables beside ours."""
    return pd.DataFrame([{"source": NB301_PUBLISHED_SOURCE, "model": name, "r2": values["r2"],
                          "spearman": float("nan"), "kendall": float("nan"),
                          "sparse_kendall": values["sparse_kendall"]} for name, values in NB301_PUBLISHED.items()])


def _fit(model: FitModel, train: list[DartsGenotype], y: np.ndarray, val: list[DartsGenotype],
         y_val: np.ndarray, seed: int, gin: GINSettings | None, n_estimators: int) -> bytes:
    """One fit of ``model`` on ``train`` (``val`` for early stopping or the best epoch), as saved bytes."""
    if model in GBT_FEATURES:
        return _fit_gbt(GBT_FEATURES[model], train, y, val, y_val, seed, n_estimators)
    space = DartsSpace()
    return GINRegressor(gin or GINSettings(seed=seed)).fit(cell_graphs(space, train), y, cell_graphs(space, val),
                                                           y_val).to_bytes()


def _fit_gbt(features: Callable[[list[DartsGenotype]], np.ndarray], train: list[DartsGenotype], y: np.ndarray,
             val: list[DartsGenotype], y_val: np.ndarray, seed: int, n_estimators: int) -> bytes:
    import lightgbm

    params = {key: value for key, value in GBT_DEFAULTS.items() if key != "n_estimators"}
    data = lightgbm.Dataset(features(train), y, free_raw_data=False)
    booster = lightgbm.train({**params, "seed": seed}, data, num_boost_round=n_estimators,
                             valid_sets=[lightgbm.Dataset(features(val), y_val, reference=data)],
                             callbacks=[lightgbm.early_stopping(max(10, n_estimators // 10), verbose=False)])
    return str(booster.model_to_string(num_iteration=booster.best_iteration or None)).encode()


def _load(model: FitModel, path: Path) -> NB301FittedSurrogate:
    return _from_bytes(model, path.read_bytes())


def _from_bytes(model: FitModel, data: bytes) -> NB301FittedSurrogate:
    if model in GBT_FEATURES:
        import lightgbm

        return NB301FittedSurrogate(model, lightgbm.Booster(model_str=data.decode()))
    return NB301FittedSurrogate("gin", GINRegressor.from_bytes(data))
