"""The t-SNE map of cells coloured by accuracy (redundancy paper Fig. 2), drawn from ``analysis.cell_map``'s table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from nasaudit.analysis.operations import SINGLE_CELL
from nasaudit.errors import DataError
from nasaudit.report.canvas import save_figure


def plot_cell_map(points: pd.DataFrame, path: str | Path, score_label: str = "score") -> Path:
    """One panel per cell type: every sampled cell at its t-SNE position coloured by score (the scale starts at the
    5th percentile, so a few failed cells do not wash out the rest); the top cells ringed."""
    missing = [c for c in ("cell", "score", "top", "x", "y") if c not in points.columns]
    if missing or points.empty:
        raise DataError(f"cannot draw the cell map: the table is empty or lacks column(s) {missing}")
    cells = list(dict.fromkeys(points["cell"]))
    fig = Figure(figsize=(4.6 * len(cells), 4.0))
    low, high = float(points["score"].quantile(0.05)), float(points["score"].max())
    for i, cell in enumerate(cells):
        ax = fig.add_subplot(1, len(cells), i + 1)
        rows = points[points["cell"] == cell].sort_values("score", kind="stable")  # the best drawn on top
        dots = ax.scatter(rows["x"], rows["y"], c=rows["score"], cmap="viridis", vmin=low, vmax=high, s=9)
        best = rows[rows["top"]]
        ax.scatter(best["x"], best["y"], s=40, facecolors="none", edgecolors="#d1495b", linewidths=0.8,
                   label=f"top {len(best)}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("t-SNE of the cells" if cell == SINGLE_CELL else f"t-SNE of the {cell} cells")
        ax.legend(fontsize=8, loc="lower right")
        fig.colorbar(dots, ax=ax, label=score_label, extend="min")
    return save_figure(fig, path)
