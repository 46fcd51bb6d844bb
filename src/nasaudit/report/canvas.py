"""Shared figure plumbing: every figure is drawn on matplotlib's Agg canvas and saved as a PNG."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from nasaudit._atomic import atomic_open

DPI = 120


def save_figure(fig: Figure, path: str | Path) -> Path:
    """Lay out ``fig``, write it to ``path`` (folders created) atomically as PNG (or the format its suffix
    names), return the path."""
    out = Path(path)
    fig.tight_layout()
    with atomic_open(out, "wb") as handle:
        fig.savefig(handle, dpi=DPI, format=out.suffix.lstrip(".").lower() or "png")
    return out
