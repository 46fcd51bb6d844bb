"""Shared figure plumbing: every figure is drawn on matplotlib's Agg canvas and saved as a PNG."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

DPI = 120


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Lay out ``fig``, write it to ``path`` (folders created) as PNG, return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI)
    return out
