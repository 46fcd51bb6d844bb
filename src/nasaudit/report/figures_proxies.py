"""Figure of the proxy audit: each zero-cost proxy against the truth, one panel per proxy (the zero-cost
proxies paper's Fig. 1 style scatter), Kendall tau in each title.

Drawn with matplotlib's Agg canvas (no display, no global pyplot state); writes a PNG and returns its path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nasaudit.metrics import kendall_tau
from nasaudit.report.canvas import save_figure


def plot_proxy_scatter(truth: np.ndarray, proxies: Mapping[str, np.ndarray], path: str | Path,
                       truth_label: str = "ground truth") -> Path:
    """One panel per proxy: x = the proxy's score (rank-scaled where it spans decades), y = ``truth``; NaN
    scores are left out."""
    names = list(proxies)
    cols = min(4, max(1, len(names)))
    rows = max(1, math.ceil(len(names) / cols))
    fig = Figure(figsize=(3.2 * cols, 2.8 * rows))
    for i, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, i + 1)
        scores = np.asarray(proxies[name], dtype=np.float64)
        keep = np.isfinite(scores) & np.isfinite(truth)
        x, y = scores[keep], truth[keep]
        positive = x.size > 1 and bool(np.all(x > 0)) and x.max() / x.min() > 1e3
        ax.scatter(x, y, s=4, alpha=0.4, linewidths=0)
        if positive:
            ax.set_xscale("log")
        tau = kendall_tau(y, x) if x.size > 1 else float("nan")
        ax.set_title(f"{name}: tau={tau:.3f}", fontsize=9)
        ax.set_xlabel(name, fontsize=8)
        ax.set_ylabel(truth_label, fontsize=8)
        ax.tick_params(labelsize=7)
    return save_figure(fig, path)
