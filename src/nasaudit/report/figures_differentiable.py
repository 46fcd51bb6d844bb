"""Figures of the selection paper (DARTS-PT): alpha vs the op's importance to the supernet (Fig. 1/7), skip
domination over the search epochs (Fig. 2-3), the derived architecture's score along the search (Fig. 4, 8),
the supernet's accuracy during PT's decisions (Fig. 6).

Each function writes a PNG with matplotlib's Agg canvas and returns its path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nasaudit.errors import DataError
from nasaudit.report.canvas import save_figure

#: ops counted as parameterised convolutions when measuring skip domination
_CONVS = ("conv", "sep_", "dil_")


def plot_operation_strength(strength: pd.DataFrame, path: str | Path) -> Path:
    """One point per (edge, op): its softmax weight against the supernet accuracy lost when it is removed;
    on each edge the op with the largest alpha is filled, the one whose removal hurts most is ringed."""
    needed = {"cell", "edge", "op", "weight", "acc_base", "acc_without"}
    if strength.empty or not needed <= set(strength.columns):
        raise DataError(f"operation strength needs columns {sorted(needed)}")
    frame = strength.assign(drop=strength["acc_base"] - strength["acc_without"])
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    for op, rows in frame.groupby("op", sort=True):
        ax.scatter(rows["weight"], rows["drop"], s=18, alpha=0.6, label=str(op))
    groups = frame.groupby(["cell", "edge"], sort=True)
    by_alpha = frame.loc[groups["weight"].idxmax()]
    by_drop = frame.loc[groups["drop"].idxmax()]
    ax.scatter(by_alpha["weight"], by_alpha["drop"], s=60, facecolors="none", edgecolors="black",
               label="largest alpha on its edge")
    ax.scatter(by_drop["weight"], by_drop["drop"], s=120, facecolors="none", edgecolors="red",
               label="removal hurts most")
    agree = float((by_alpha.set_index(["cell", "edge"])["op"] == by_drop.set_index(["cell", "edge"])["op"]).mean())
    ax.set_xlabel("softmax(alpha) of the op")
    ax.set_ylabel("supernet accuracy lost without it (points)")
    ax.set_title(f"alpha picks the op that matters most on {agree:.0%} of the edges", fontsize=10)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)


def skip_domination(alpha: pd.DataFrame) -> pd.DataFrame:
    """Per epoch and cell type: mean over edges of softmax weight(skip) minus the largest convolution weight
    (selection paper Fig. 2-3: skip connections come to dominate DARTS' alpha)."""
    needed = {"epoch", "cell", "edge", "op", "weight"}
    if alpha.empty or not needed <= set(alpha.columns):
        raise DataError(f"skip domination needs an alpha trajectory with columns {sorted(needed)}")
    skip = alpha[alpha["op"] == "skip_connect"].set_index(["epoch", "cell", "edge"])["weight"]
    convs = alpha[alpha["op"].str.contains("|".join(_CONVS))].groupby(["epoch", "cell", "edge"])["weight"].max()
    gap = (skip - convs).dropna().rename("skip_minus_conv").reset_index()
    return gap.groupby(["epoch", "cell"], sort=True)["skip_minus_conv"].agg(["mean", "min", "max"]).reset_index()


def plot_skip_domination(gap: pd.DataFrame, path: str | Path) -> Path:
    """``skip_domination`` over the epochs, one line (with its min-max band) per cell type."""
    if gap.empty:
        raise DataError("no skip / convolution pair on any edge to compare")
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    for cell, rows in gap.groupby("cell", sort=True):
        ax.plot(rows["epoch"], rows["mean"], marker="o", label=f"{cell} cells")
        ax.fill_between(rows["epoch"], rows["min"], rows["max"], alpha=0.15)
    ax.axhline(0.0, color="grey", linewidth=0.8)
    ax.set_xlabel("search epoch")
    ax.set_ylabel("weight(skip) - max weight(conv)")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_selection_along_search(scores: pd.DataFrame, path: str | Path, ylabel: str) -> Path:
    """Score of the architecture each selection method derives from the snapshot after each search epoch
    (Fig. 4): mean over search seeds with a ± std band."""
    if scores.empty or not {"epoch", "method", "score"} <= set(scores.columns):
        raise DataError("selection-along-search needs columns epoch, method, score")
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    _mean_bands(ax, scores, "epoch", "score")
    ax.set_xlabel("search epoch of the snapshot")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.set_xticks(np.unique(scores["epoch"]))
    return save_figure(fig, path)


def plot_selection_trajectory(trajectory: pd.DataFrame, path: str | Path) -> Path:
    """The supernet's validation accuracy before the first and after every decision round (with the tuning
    that follows it) of each progressive selection method (Fig. 6: PT vs PT-Mag): mean over search seeds
    with a ± std band."""
    if trajectory.empty or not {"method", "round", "val_acc"} <= set(trajectory.columns):
        raise DataError("the selection trajectory needs columns method, round, val_acc")
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.add_subplot()
    _mean_bands(ax, trajectory, "round", "val_acc", markersize=3)
    ax.set_xlabel("decision rounds taken")
    ax.set_ylabel("supernet validation accuracy (%)")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _mean_bands(ax: Any, frame: pd.DataFrame, x: str, y: str, **line: Any) -> None:
    """One line per ``method`` of ``frame``: the mean of ``y`` over search seeds at each ``x``, with a ± std band."""
    for method, rows in frame.groupby("method", sort=True):
        stats = rows.groupby(x)[y].agg(["mean", "std"]).fillna(0.0)
        ax.plot(stats.index, stats["mean"], marker="o", label=str(method), **line)
        ax.fill_between(stats.index, stats["mean"] - stats["std"], stats["mean"] + stats["std"], alpha=0.15)
