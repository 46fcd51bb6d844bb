"""Figures of the supernet ranking study: single-path paper Fig. 2 (predicted vs ground-truth accuracy of
the top-N and random architectures) and Fig. 4 (A_N and tau inside the top-N against N, one line per
variant, tau_a in the legend), and the rank-disorder figure of the search-phase paper (Fig. 4).

Drawn with matplotlib's Agg canvas (no display, no global pyplot state); each function writes a PNG
and returns its path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nasaudit.errors import DataError
from nasaudit.metrics import kendall_tau
from nasaudit.report.canvas import save_figure
from nasaudit.weight_sharing.supernet.ranking import RankingReport, RankingSet


def plot_predictions(rset: RankingSet, predictions: np.ndarray, path: str | Path, groups: Sequence[int] = (50, 250),
                     truth_label: str = "ground truth accuracy (%)") -> Path:
    """Single-path paper Fig. 2: one panel per ground-truth top-N in ``groups`` plus the random sample;
    x = supernet accuracy (seed mean), y = ground truth; Kendall tau in each title."""
    pred = np.atleast_2d(np.asarray(predictions, dtype=np.float64)).mean(axis=0)
    if pred.size != len(rset.archs):
        raise DataError(f"predictions have {pred.size} columns for {len(rset.archs)} architectures")
    order = np.argsort(-rset.truth, kind="stable")
    panels = [(f"top-{n}", order[:n]) for n in groups if n <= len(order)]
    panels.append((f"random {rset.random.size}", rset.random))
    fig = Figure(figsize=(4.0 * len(panels), 3.6))
    for i, (title, index) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.scatter(pred[index], rset.truth[index], s=8, alpha=0.6)
        tau = kendall_tau(rset.truth[index], pred[index]) if index.size > 1 else float("nan")
        ax.set_title(f"{title}, KT: {tau:.2f}")
        ax.set_xlabel("supernet validation accuracy (%)")
        if i == 0:
            ax.set_ylabel(truth_label)
        ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_top_n_curves(reports: Mapping[str, RankingReport], path: str | Path, title: str | None = None) -> Path:
    """Single-path paper Fig. 4: per variant, A_N (top) and tau inside the top-N (bottom) against N and
    the random sample, mean ± std over seeds as error bars, tau_a (seed-mean A_N) in the legend."""
    if not reports:
        raise DataError("plot_top_n_curves needs at least one ranking report")
    fig = Figure(figsize=(7.0, 6.4))
    top, bottom = fig.add_subplot(2, 1, 1), fig.add_subplot(2, 1, 2, sharex=None)
    labels: list[str] = []
    for name, report in reports.items():
        curve = report.curve
        labels = [f"{n}" if g == "top" else "random" for g, n in zip(curve["group"], curve["n"], strict=True)]
        x = np.arange(len(curve))
        summary = report.summary.set_index("metric")["mean"]
        tau_a = summary.get("tau_a (seed-mean A_N)", summary.get("tau_a", float("nan")))
        top.errorbar(x, curve["pred_mean"], yerr=curve["pred_std"], marker="o", capsize=3,
                     label=f"{name}  τa={tau_a:.2f}")
        bottom.errorbar(x, curve["tau_mean"], yerr=curve["tau_std"], marker="o", capsize=3)
    for ax in (top, bottom):
        ax.set_xticks(np.arange(len(labels)), labels)
        ax.grid(alpha=0.3)
    top.set_ylabel("validation accuracy (%)")
    bottom.set_ylabel("Kendall τ in top N")
    bottom.axhline(0.0, color="grey", lw=0.8)
    bottom.set_xlabel("top N bench networks")
    top.legend(fontsize=7, loc="best")
    if title:
        top.set_title(title)
    return save_figure(fig, path)


def plot_rank_disorder(disorder: pd.DataFrame, path: str | Path, top: int = 10, title: str | None = None) -> Path:
    """Search-phase paper Fig. 4: (a) ground truth per architecture (bars, sorted) with the weight-sharing
    accuracy (mean ± std over seeds); (b) ground-truth rank vs weight-sharing rank of the ``top`` best."""
    if disorder.empty:
        raise DataError("plot_rank_disorder needs at least one architecture")
    fig = Figure(figsize=(11.0, 4.0))
    ax_a = fig.add_subplot(1, 2, 1)
    x = np.arange(len(disorder))
    ax_a.bar(x, disorder["truth"], color="lightgrey", label="without WS (ground truth)")
    ax_a.set_ylim(disorder["truth"].min() - 1.0, disorder["truth"].max() + 1.0)
    ax_a.set_xlabel("architecture (sorted by ground truth, best first)")
    ax_a.set_ylabel("ground truth accuracy (%)")
    twin = ax_a.twinx()
    twin.errorbar(x, disorder["ws_mean"], yerr=disorder["ws_std"], color="tab:red", marker=".", lw=0.8,
                  label="with WS")
    twin.set_ylabel("weight-sharing accuracy (%)")
    ax_a.set_title("(a) performance with and without WS")
    ax_b = fig.add_subplot(1, 2, 2)
    best = disorder.nsmallest(top, "truth_rank")
    for _, row in best.iterrows():
        ax_b.plot([0, 1], [row["truth_rank"], row["ws_rank"]], marker="o")
        ax_b.annotate(f"{int(row['rank_change'])}", (1.02, row["ws_rank"]), fontsize=7)
    ax_b.set_xticks([0, 1], ["ground truth rank", "WS rank"])
    ax_b.invert_yaxis()
    truth, ws_mean = disorder["truth"].to_numpy(), disorder["ws_mean"].to_numpy()
    tau = kendall_tau(truth, ws_mean) if len(disorder) > 1 else float("nan")
    ax_b.set_title(f"(b) rank change of the top {len(best)} (Kendall τ {tau:.2f})")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_fidelity(table: pd.DataFrame, path: str | Path) -> Path:
    """Kendall tau of each low fidelity against the final one, over all architectures and within each top-N."""
    if table.empty:
        raise DataError("no fidelity correlations to plot")
    figure = Figure(figsize=(6.4, 3.8))
    axes = figure.subplots()
    for low, rows in table.groupby("low", sort=False):
        axes.plot(rows["subset"], rows["kendall_tau"], marker="o", label=str(low))
    axes.axhline(0.0, color="grey", linewidth=0.8)
    axes.set_xlabel("architectures")
    axes.set_ylabel(f"Kendall tau vs {table['final'].iloc[0]}")
    axes.legend(fontsize=8)
    return save_figure(figure, path)


def plot_rank_disorder_panels(panels: Mapping[str, Sequence[tuple[str, np.ndarray, np.ndarray]]],
                              path: str | Path) -> Path:
    """Search-phase paper Fig. 4 for several methods: one row per method, one panel per chosen seed (best,
    median, worst by Kendall tau), ground-truth rank (x) vs the method's shared-weight rank (y) of every
    ranked architecture; the diagonal is a perfect ranking."""
    if not panels:
        raise DataError("plot_rank_disorder_panels needs at least one method")
    columns = max(len(row) for row in panels.values())
    fig = Figure(figsize=(3.2 * columns, 3.0 * len(panels)))
    for r, (method, row) in enumerate(panels.items()):
        for c, (label, truth, predicted) in enumerate(row):
            ax = fig.add_subplot(len(panels), columns, r * columns + c + 1)
            truth_rank = pd.Series(-np.asarray(truth)).rank(method="min").to_numpy()
            ws_rank = pd.Series(-np.asarray(predicted)).rank(method="min").to_numpy()
            ax.scatter(truth_rank, ws_rank, s=8, alpha=0.7)
            ax.plot([1, len(truth_rank)], [1, len(truth_rank)], color="grey", lw=0.7, ls="--")
            tau = kendall_tau(truth, predicted) if len(truth_rank) > 1 else float("nan")
            ax.set_title(f"{method}: {label} (τ {tau:.2f})", fontsize=8)
            ax.set_xlabel("ground-truth rank", fontsize=7)
            ax.set_ylabel("weight-sharing rank", fontsize=7)
            ax.tick_params(labelsize=6)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_rank_over_epochs(epochs: pd.DataFrame, trajectories: Mapping[str, pd.DataFrame], path: str | Path) -> Path:
    """Search-phase paper App. D.2 (Fig. 7): (left) Kendall tau of each method's supernet against the truth
    after each ranked epoch, mean ± std over seeds; (right, one panel per method) the shared-weight rank of
    the ground truth's best architectures over the epochs of one seed (``trajectories[method]``: columns
    ``epoch``, ``arch``, ``rank``)."""
    if epochs.empty:
        raise DataError("plot_rank_over_epochs needs at least one ranked epoch")
    fig = Figure(figsize=(4.0 + 3.2 * len(trajectories), 3.4))
    ax = fig.add_subplot(1, 1 + len(trajectories), 1)
    for method, group in epochs.groupby("method", sort=False):
        stats = group.groupby("epoch")["kendall_tau"].agg(["mean", "std"]).fillna(0.0)
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", ms=3, capsize=2, label=str(method))
    ax.axhline(0.0, color="grey", lw=0.6)
    ax.set_xlabel("supernet epoch")
    ax.set_ylabel("Kendall τ vs ground truth")
    ax.legend(fontsize=7)
    for i, (method, frame) in enumerate(trajectories.items()):
        panel = fig.add_subplot(1, 1 + len(trajectories), i + 2)
        for _, line in frame.groupby("arch", sort=False):
            panel.plot(line["epoch"], line["rank"], marker=".", lw=0.8)
        panel.invert_yaxis()
        panel.set_title(f"{method}: ranks of the true top {frame['arch'].nunique()}", fontsize=8)
        panel.set_xlabel("supernet epoch", fontsize=7)
        panel.set_ylabel("weight-sharing rank", fontsize=7)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_sharing_ranking(cells: pd.DataFrame, path: str | Path) -> Path:
    """Search-phase paper Fig. 6 (b): (a) the cells in the order of their weight-sharing rank (mean over seeds, best
    first), their mean weight-sharing score (std over seeds) coloured by the number of shared weight matrices; (b)
    ground-truth rank vs weight-sharing rank, same colours. ``cells`` has ``label``, ``shared``, ``ws_mean``,
    ``ws_std``, ``ws_rank`` and ``truth_rank``."""
    if cells.empty:
        raise DataError("plot_sharing_ranking needs at least one cell")
    order = cells.sort_values(["ws_rank", "label"], kind="stable")
    levels = sorted(order["shared"].unique())
    palette = {level: f"C{i}" for i, level in enumerate(levels)}
    colours = [palette[v] for v in order["shared"]]
    fig = Figure(figsize=(11.0, 4.0))
    ax_a = fig.add_subplot(1, 2, 1)
    x = np.arange(len(order))
    ax_a.errorbar(x, order["ws_mean"], yerr=order["ws_std"].fillna(0.0), fmt="none", ecolor="grey", lw=0.8)
    ax_a.scatter(x, order["ws_mean"], color=colours, zorder=3)
    low, high = float(order["ws_mean"].min()), float(order["ws_mean"].max())
    margin = max(high - low, 1e-6) * 0.25
    ax_a.set_ylim(low - margin, high + margin)
    ax_a.set_xticks(x, order["label"], rotation=60, ha="right", fontsize=7)
    ax_a.set_ylabel("weight-sharing score (mean over seeds)")
    ax_a.set_title("(a) ranking by weight sharing, best first")
    ax_b = fig.add_subplot(1, 2, 2)
    for level in levels:
        rows = order[order["shared"] == level]
        ax_b.scatter(rows["ws_rank"], rows["truth_rank"], color=palette[level], label=f"{level} shared")
    ax_b.set_xlabel("weight-sharing rank (1 = best)")
    ax_b.set_ylabel("ground-truth rank (1 = best)")
    ax_b.invert_yaxis()
    ax_b.legend(fontsize=7, title="weight matrices", title_fontsize=7)
    ax_b.set_title("(b) ground truth vs weight sharing")
    return save_figure(fig, path)
