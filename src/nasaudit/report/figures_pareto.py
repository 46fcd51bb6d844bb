"""Figures of accuracy-cost trade-offs (redundancy paper App. G, Fig. 32): every architecture, its Pareto front.

Drawn with matplotlib's Agg canvas (no display, no global pyplot state); each function writes a PNG and returns
its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nasaudit.errors import DataError
from nasaudit.report.canvas import save_figure

#: a cost axis spanning this ratio or more (NB201 parameters: about 21x) is drawn on a log scale
_LOG_RATIO = 10.0


def plot_pareto_front(cost: np.ndarray, accuracy: np.ndarray, front: np.ndarray, path: str | Path, *,
                      xlabel: str, ylabel: str, found: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
                      title: str | None = None) -> Path:
    """Scatter of every architecture (``cost`` against ``accuracy``), the front (``front``, a boolean mask)
    highlighted as a staircase, and optionally the fronts some searches found (``found[name] = (cost, accuracy)``
    of their non-dominated points), one marker colour each."""
    x, y, mask = np.asarray(cost, dtype=np.float64), np.asarray(accuracy, dtype=np.float64), np.asarray(front)
    if x.shape != y.shape or x.shape != mask.shape or x.ndim != 1 or x.size == 0:
        raise DataError(f"plot_pareto_front needs equal 1-D cost, accuracy and front arrays, got {x.shape}, "
                        f"{y.shape}, {mask.shape}")
    if not mask.any():
        raise DataError("plot_pareto_front needs a non-empty front")
    fig = Figure(figsize=(6.4, 4.4))
    ax = fig.add_subplot()
    ax.scatter(x[~mask], y[~mask], s=4, color="0.6", alpha=0.35, linewidths=0, label=f"architectures (n={x.size})",
               rasterized=True)
    order = np.argsort(x[mask], kind="stable")
    ax.step(x[mask][order], y[mask][order], where="post", color="C3", linewidth=1.2)
    ax.scatter(x[mask], y[mask], s=16, color="C3", zorder=3, label=f"Pareto front ({int(mask.sum())})")
    for k, (name, (fx, fy)) in enumerate((found or {}).items()):
        ax.scatter(np.asarray(fx), np.asarray(fy), s=22, marker="x", color=f"C{(k if k < 3 else k + 1) % 10}",
                   zorder=4, label=f"{name} front")
    if x.min() > 0 and x.max() / x.min() >= _LOG_RATIO:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return save_figure(fig, path)
