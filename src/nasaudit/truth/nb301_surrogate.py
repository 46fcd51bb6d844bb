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
* ``gin``: ``nasaudit.truth.gin``, best validation epoch kept.
* ``official``: the released NB301 ensemble (optional extra ``nb301``) scored on the same test split.

A fit is saved to a folder and read back before use, so a fresh fit and a cached one score identically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from nasaudit._atomic import atomic_write
from nasaudit.errors import DataError
from nasaudit.metrics.correlation import kendall_tau, spearman
from nasaudit.spaces.darts import CELL_TYPES, DartsGenotype, DartsSpace
from nasaudit.truth.gin import GINRegressor, GINSettings, cell_graphs
from nasaudit.truth.surrogate import GBT_DEFAULTS, NB301_KEY_PREFIX, genotype_to_nb301_config, read_nb301_results

NB301Model = Literal["gbt", "gin", "official"]
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


@dataclass(frozen=True)
class HeldOut:
    """The test split of a fit: its genotypes (DARTS strings), true and predicted scores, and split sizes."""

    genotypes: list[str]
    true: np.ndarray
    predicted: np.ndarray
    n_train: int
    n_val: int

    def metrics(self) -> dict[str, float]:
        return heldout_metrics(self.true, self.predicted)

    def to_json(self) -> str:
        return json.dumps({"genotypes": self.genotypes, "true": self.true.tolist(),
                           "predicted": self.predicted.tolist(), "n_train": self.n_train, "n_val": self.n_val})

    @classmethod
    def from_json(cls, text: str) -> HeldOut:
        data = json.loads(text)
        return cls(list(data["genotypes"]), np.asarray(data["true"], dtype=np.float64),
                   np.asarray(data["predicted"], dtype=np.float64), int(data["n_train"]), int(data["n_val"]))


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
        if self.model == "gbt":
            return np.asarray(self.regressor.predict(nb301_config_features(genotypes)), dtype=np.float64)
        if self.model == "gin":
            return np.concatenate([self.regressor.predict(cell_graphs(self.space, genotypes[s:s + PREDICT_BATCH]))
                                   for s in range(0, len(genotypes), PREDICT_BATCH)])
        return np.asarray(self.regressor.evaluate(genotypes), dtype=np.float64)


def nb301_training_table(folder: str | Path, metric: str) -> tuple[list[DartsGenotype], np.ndarray]:
    """The unique genotypes of an NB301 results folder (in file order) and their ``metric``, duplicates averaged."""
    table = read_nb301_results(folder).groupby("genotype", sort=False)[metric].mean()
    space = DartsSpace()
    return [space.parse(text) for text in table.index], table.to_numpy(dtype=np.float64)


def fit_nb301_surrogate(folder: str | Path, cache: Path, model: Literal["gbt", "gin"] = "gbt",
                        metric: str = "val_accuracy", seed: int = 0, gin: GINSettings | None = None,
                        n_estimators: int = GBT_DEFAULTS["n_estimators"],
                        space: DartsSpace | None = None) -> NB301FittedSurrogate:
    """The surrogate saved in ``cache``, or fit on ``folder``'s train split (validation split for early stopping),
    saved there and read back. Its ``heldout`` holds the test split's predictions."""
    if not (cache / HELDOUT_FILE).is_file():
        genotypes, scores = nb301_training_table(folder, metric)
        train, val, test = nb301_split(len(genotypes), seed)
        split = {name: [genotypes[i] for i in index] for name, index in (("train", train), ("val", val),
                                                                          ("test", test))}
        if model == "gbt":
            blob = _fit_gbt(split["train"], scores[train], split["val"], scores[val], seed, n_estimators)
        else:
            space = DartsSpace()
            blob = GINRegressor(gin or GINSettings(seed=seed)).fit(
                cell_graphs(space, split["train"]), scores[train], cell_graphs(space, split["val"]), scores[val],
            ).to_bytes()
        atomic_write(cache / MODEL_FILE, blob)
        fitted = _load(model, cache / MODEL_FILE)
        heldout = HeldOut([DartsSpace().format(g) for g in split["test"]], scores[test],
                          fitted.evaluate(split["test"]), len(train), len(val))
        atomic_write(cache / HELDOUT_FILE, heldout.to_json())
    fitted = _load(model, cache / MODEL_FILE)
    return NB301FittedSurrogate(model, fitted.regressor, HeldOut.from_json((cache / HELDOUT_FILE).read_text()), space)


def official_nb301_surrogate(folder: str | Path, model_dir: str | Path, metric: str = "val_accuracy",
                             seed: int = 0, space: DartsSpace | None = None) -> NB301FittedSurrogate:
    """The released NB301 ensemble (``load_nb301``), with its predictions on the same seeded test split of
    ``folder`` as our fits (NB301's own split differs, so it may have been trained on some of these)."""
    from nasaudit.truth.surrogate import load_nb301

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


def _fit_gbt(train: list[DartsGenotype], y: np.ndarray, val: list[DartsGenotype], y_val: np.ndarray, seed: int,
             n_estimators: int) -> bytes:
    import lightgbm

    params = {key: value for key, value in GBT_DEFAULTS.items() if key != "n_estimators"}
    data = lightgbm.Dataset(nb301_config_features(train), y, free_raw_data=False)
    booster = lightgbm.train({**params, "seed": seed}, data, num_boost_round=n_estimators,
                             valid_sets=[lightgbm.Dataset(nb301_config_features(val), y_val, reference=data)],
                             callbacks=[lightgbm.early_stopping(max(10, n_estimators // 10), verbose=False)])
    return str(booster.model_to_string(num_iteration=booster.best_iteration or None)).encode()


def _load(model: Literal["gbt", "gin"], path: Path) -> NB301FittedSurrogate:
    data = path.read_bytes()
    if model == "gbt":
        import lightgbm

        return NB301FittedSurrogate("gbt", lightgbm.Booster(model_str=data.decode()))
    return NB301FittedSurrogate("gin", GINRegressor.from_bytes(data))
