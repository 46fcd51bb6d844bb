"""Figures of the fair comparison (search-phase paper, Fig. 1c): best-so-far vs queries, mean ± std.

Drawn with matplotlib's Agg canvas (no display, no global pyplot state); each function writes a PNG
and returns its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nasaudit.errors import DataError
from nasaudit.report.canvas import save_figure


def plot_best_so_far(curves: Mapping[str, np.ndarray], path: str | Path, ylabel: str = "best score so far",
                     title: str | None = None) -> Path:
    """One line per strategy: mean over seeds of the best-so-far score, with a ± std band.

    ``curves[name]`` has shape ``(seeds, queries)`` (``Comparison.curves()``).
    """
    if not curves:
        raise DataError("plot_best_so_far needs at least one strategy's curves")
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    for name, values in curves.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] == 0:
            raise DataError(f"curves of {name!r} must have shape (seeds, queries), got {array.shape}")
        queries = np.arange(1, array.shape[1] + 1)
        mean, std = array.mean(axis=0), array.std(axis=0)
        ax.plot(queries, mean, label=f"{name} (n={array.shape[0]})")
        ax.fill_between(queries, mean - std, mean + std, alpha=0.2)
    ax.set_xlabel("queries")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return save_figure(fig, path)
