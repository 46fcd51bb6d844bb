"""Figure of a surrogate's held-out fit (NAS-Bench-301, Siems et al. 2020, Fig. 4 style): predicted against
true score on the test split, one panel per model, Spearman and Kendall tau in each title.

Drawn with matplotlib's Agg canvas (no display, no global pyplot state); the function writes a PNG and
returns its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nasaudit.errors import DataError
from nasaudit.metrics.correlation import kendall_tau, spearman
from nasaudit.report.canvas import save_figure


def plot_heldout_scatter(panels: Mapping[str, tuple[np.ndarray, np.ndarray]], path: str | Path,
                         label: str = "accuracy (%)") -> Path:
    """One panel per model: x = true score of each test genotype, y = the model's prediction; the diagonal."""
    if not panels:
        raise DataError("plot_heldout_scatter needs at least one model's held-out predictions")
    fig = Figure(figsize=(4.0 * len(panels), 3.8))
    for i, (name, (true, predicted)) in enumerate(panels.items()):
        true, predicted = np.asarray(true, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
        if true.shape != predicted.shape or true.size < 2:
            raise DataError(f"{name}: need at least 2 paired true and predicted scores, got {true.shape} and "
                            f"{predicted.shape}")
        ax = fig.add_subplot(1, len(panels), i + 1)
        ax.scatter(true, predicted, s=10, alpha=0.6, color="#30638e")
        low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
        ax.plot([low, high], [low, high], color="grey", linestyle="--", linewidth=1)
        ax.set_title(f"{name}: Spearman {spearman(true, predicted):.2f}, KT {kendall_tau(true, predicted):.2f}")
        ax.set_xlabel(f"true {label}")
        if i == 0:
            ax.set_ylabel(f"predicted {label}")
        ax.grid(alpha=0.3)
    return save_figure(fig, path)
