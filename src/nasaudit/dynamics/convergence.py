"""Convergence speed of per-epoch curves (architectures paper Sec. 4.1, Figs. 3-5: faster and more stable
convergence of wide, shallow cells).

Input: a tidy per-epoch table with columns ``set, arch, seed, epoch, train_loss, train_acc, test_loss,
test_acc`` (one row per run and epoch, accuracies in %). ``convergence_summary`` gives, per run, the
final value of a metric, the first epoch at which it reaches ``fraction`` of that final value, and the
area under its curve (trapezoid over epochs) together with that area divided by the epoch span (the
curve's mean level, comparable across run lengths).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nasaudit.errors import DataError

HISTORY_COLUMNS: tuple[str, ...] = ("set", "arch", "seed", "epoch", "train_loss", "train_acc", "test_loss",
                                    "test_acc")
RUN_KEYS: list[str] = ["set", "arch", "seed"]


def check_history(history: pd.DataFrame, metric: str) -> None:
    """Raise ``DataError`` unless ``history`` has the run keys, ``epoch`` and ``metric``, and rows."""
    missing = [c for c in (*RUN_KEYS, "epoch", metric) if c not in history.columns]
    if missing or history.empty:
        raise DataError(f"the per-epoch table is empty or lacks column(s) {missing}")
    if history.duplicated([*RUN_KEYS, "epoch"]).any():
        raise DataError("the per-epoch table has more than one row for some (set, arch, seed, epoch)")


def convergence_summary(history: pd.DataFrame, metric: str = "test_acc", fraction: float = 0.9) -> pd.DataFrame:
    """Per run (``set, arch, seed``): ``final``, ``epochs_to_fraction``, ``auc`` and ``auc_mean`` of ``metric``.

    ``epochs_to_fraction`` is the first epoch whose value is at least ``fraction * final`` (for a
    metric that rises, such as an accuracy); NaN values of the metric are ignored.
    """
    if not 0 < fraction <= 1:
        raise DataError(f"fraction must be in (0, 1], got {fraction}")
    check_history(history, metric)
    rows = []
    for (set_name, arch, seed), run in history.groupby(RUN_KEYS, sort=True):
        run = run.dropna(subset=[metric]).sort_values("epoch")
        if run.empty:
            continue
        epochs = run["epoch"].to_numpy(dtype=float)
        values = run[metric].to_numpy(dtype=float)
        final = float(values[-1])
        reached = np.flatnonzero(values >= fraction * final)
        auc = float(np.trapezoid(values, epochs)) if len(values) > 1 else 0.0
        span = epochs[-1] - epochs[0]
        rows.append({"set": set_name, "arch": arch, "seed": seed, "final": final,
                     "epochs_to_fraction": float(epochs[reached[0]]), "auc": auc,
                     "auc_mean": auc / span if span > 0 else final, "n_epochs": len(values)})
    return pd.DataFrame(rows, columns=[*RUN_KEYS, "final", "epochs_to_fraction", "auc", "auc_mean", "n_epochs"])
