"""Figure of the predictor audit: each metric against the training-set size, one line per predictor with the
seed-to-seed standard deviation as error bars (as White et al. 2021 plot predictors), the truth's seed-to-seed Kendall
tau as a dashed line where the table has it.

Drawn with matplotlib's Agg canvas (no display, no global pyplot state); writes a PNG and returns its path.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from nasaudit.report.canvas import save_figure


def plot_predictor_curves(summary: pd.DataFrame, metrics: list[str], path: str | Path,
                          ceiling_tau: float | None = None) -> Path:
    """One panel per metric: x = ``train_size``, y = ``<metric>_mean`` with ``<metric>_std`` error bars, one line
    per ``predictor``; ``ceiling_tau`` is drawn on the Kendall tau panel."""
    fig = Figure(figsize=(3.4 * len(metrics), 3.0))
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        for name, rows in summary.groupby("predictor", sort=False):
            ax.errorbar(rows["train_size"], rows[f"{metric}_mean"], yerr=rows[f"{metric}_std"].fillna(0.0),
                        marker="o", markersize=3, capsize=2, label=str(name))
        if metric == "kendall_tau" and ceiling_tau is not None:
            ax.axhline(ceiling_tau, color="grey", linestyle="--", linewidth=1, label="truth seed-to-seed")
        sizes = sorted(summary["train_size"].unique())
        ax.set_xscale("log")
        ax.set_xticks(sizes, labels=[str(n) for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("training architectures", fontsize=8)
        ax.set_title(metric, fontsize=9)
        ax.tick_params(labelsize=7)
        if i == 0:
            ax.legend(fontsize=7)
    return save_figure(fig, path)
