"""Figures of NAS inside the PrimSkip group (redundancy paper App. H, Fig. 33): best-so-far vs queries.

Drawn with matplotlib's Agg canvas (no display, no global pyplot state); each function writes a PNG and
returns its path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from nasaudit.errors import DataError
from nasaudit.report.canvas import save_figure

#: line style of the searches inside the group, and of those in the unconstrained space
_INSIDE, _OUTSIDE = "-", "--"


def plot_primskip_search(curves: Mapping[tuple[str, str], np.ndarray], path: str | Path, inside: str,
                         ylabel: str = "best score so far", title: str | None = None) -> Path:
    """One line per (strategy, space): the mean over seeds of the best-so-far score, with a ± std band.

    ``curves[(strategy, space)]`` has shape ``(seeds, queries)``; the space named ``inside`` (the group) is drawn
    solid, every other dashed, one colour per strategy (App. H, Fig. 33a: NAS-BOWL inside and outside PrimSkip).
    """
    if not curves:
        raise DataError("plot_primskip_search needs at least one (strategy, space) curve")
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.add_subplot()
    strategies = list(dict.fromkeys(strategy for strategy, _ in curves))
    for (strategy, space), values in curves.items():
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 2 or array.shape[1] == 0:
            raise DataError(f"curves of {strategy!r} in {space!r} must have shape (seeds, queries), got {array.shape}")
        queries = np.arange(1, array.shape[1] + 1)
        mean, std = array.mean(axis=0), array.std(axis=0)
        colour = f"C{strategies.index(strategy) % 10}"
        ax.plot(queries, mean, color=colour, linestyle=_INSIDE if space == inside else _OUTSIDE,
                label=f"{strategy} in {space} (n={array.shape[0]})")
        ax.fill_between(queries, mean - std, mean + std, color=colour, alpha=0.12 if space == inside else 0.06)
    ax.set_xlabel("queries")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    return save_figure(fig, path)
