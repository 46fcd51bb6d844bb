"""Pictures of single cells: nodes, the operation on each edge (NB201, DARTS) or node (NB101), optionally
coloured by a per-operation score such as operation importance (redundancy paper Fig. 9; architectures
paper Figs. 2, 10-11).

Node positions are computed here, not by a graph-layout library: a node's column is its topological
level (longest path from an input), nodes of a column are spread evenly in id order, so a cell is drawn
the same way on every run. Edges that skip a column are curved so they do not run through the nodes in
between. ``none`` edges (switched off) are drawn dashed and grey. Scores are keyed by the space's
positions (``space.positions``): the edge index for NB201, ``(cell_type, edge)`` for DARTS,
``("node", i)`` / ``("edge", i, j)`` for NB101; ``oi_scores`` turns an operation-importance table into them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from nasaudit.errors import ArchitectureError, DataError
from nasaudit.report.canvas import save_figure
from nasaudit.report.figures_analysis import short_name
from nasaudit.spaces.darts import CELL_TYPES, DartsGenotype
from nasaudit.spaces.nb101 import INPUT, OUTPUT, NB101Arch
from nasaudit.spaces.nb201 import N_NODES, NB201Arch

DISABLED = "none"
_NEUTRAL = "#4a5568"
_DISABLED_COLOUR = "#b8bec9"
_NODE_FACE = "#eef1f6"
_IO_FACE = "#dfe8d8"
#: data units between levels (columns) and between the nodes of one level
X_STEP, Y_STEP = 2.6, 1.2
#: where along an edge (0 = source, 1 = target) its operation's label is written
_T = 0.6
_NB101_SHORT = {"conv3x3-bn-relu": "c3", "conv1x1-bn-relu": "c1", "maxpool3x3": "mp3", INPUT: "in", OUTPUT: "out"}


@dataclass(frozen=True)
class CellGraph:
    """A cell as drawn: node ids with labels, edges ``(src, dst, op label, position)`` and node positions
    of node-labelled cells (NB101); ``op`` is ``""`` for plain wiring (DARTS concatenation, NB101 edges)."""

    nodes: tuple[tuple[int, str], ...]
    edges: tuple[tuple[int, int, str, Hashable | None], ...]
    node_positions: tuple[tuple[int, Hashable], ...] = ()


def cell_graph(arch: Any, cell_type: str = "normal") -> CellGraph:
    """The drawable graph of an NB201 cell, one cell of a DARTS genotype, or an NB101 cell."""
    if isinstance(arch, NB201Arch):
        nodes = tuple((n, "in" if n == 0 else "out" if n == N_NODES - 1 else str(n)) for n in range(N_NODES))
        return CellGraph(nodes, tuple((s, d, op, k) for k, (s, d, op) in enumerate(arch.edges())))
    if isinstance(arch, DartsGenotype):
        if cell_type not in CELL_TYPES:
            raise ArchitectureError(f"cell type must be 'normal' or 'reduce', got {cell_type!r}")
        cell = arch.cell(cell_type)
        out = cell.n_nodes + 2
        nodes = ((0, "c_{k-2}"), (1, "c_{k-1}"), *((n, str(n - 2)) for n in range(2, out)), (out, "c_{k}"))
        edges: list[tuple[int, int, str, Hashable | None]] = [
            (s, d, op, (cell_type, k)) for k, (s, d, op) in enumerate(cell.triples())]
        edges += [(n, out, "", None) for n in cell.concat]
        return CellGraph(tuple(nodes), tuple(edges))
    if isinstance(arch, NB101Arch):
        nodes = tuple((v, op) for v, op in enumerate(arch.ops))
        wiring = tuple((i, j, "", ("edge", i, j)) for i, j in arch.edges())
        return CellGraph(nodes, wiring, tuple((v, ("node", v)) for v in range(1, arch.n_vertices - 1)))
    raise ArchitectureError(f"cannot draw a cell of type {type(arch).__name__}")


def layout(graph: CellGraph) -> dict[int, tuple[float, float]]:
    """Deterministic positions: x is the longest-path level from the sources, y spreads each level evenly."""
    level = {n: 0 for n, _ in graph.nodes}
    for src, dst, _, _ in sorted(graph.edges, key=lambda e: (e[1], e[0])):
        level[dst] = max(level[dst], level[src] + 1)
    by_level: dict[int, list[int]] = {}
    for node in sorted(level):
        by_level.setdefault(level[node], []).append(node)
    pos = {}
    for lvl, members in by_level.items():
        for i, node in enumerate(members):
            pos[node] = (X_STEP * lvl, Y_STEP * ((len(members) - 1) / 2.0 - i))
    return pos


def oi_scores(oi: pd.DataFrame, arch: Any, space: Any, column: str = "oi") -> dict[Hashable, float]:
    """``{position: score}`` of ``arch`` from an ``operation_importance`` table (rows matched on ``str(arch)``)."""
    if column not in oi.columns or "position" not in oi.columns or "arch" not in oi.columns:
        raise DataError(f"the importance table needs columns arch, position and {column!r}")
    rows = oi[oi["arch"] == str(arch)]
    if rows.empty:
        raise DataError(f"the importance table has no rows for architecture {arch}")
    by_text = {str(p): p for p in space.positions(arch)}
    return {by_text[str(p)]: float(v) for p, v in zip(rows["position"], rows[column], strict=True)
            if str(p) in by_text and np.isfinite(v)}


def score_norm(scores: Mapping[Any, float]) -> Normalize:
    """A colour scale for ``scores``: symmetric about 0 when they change sign (OI), else their range."""
    values = np.array([v for v in scores.values() if np.isfinite(v)], dtype=float)
    if values.size == 0:
        return Normalize(0.0, 1.0)
    lo, hi = float(values.min()), float(values.max())
    if lo < 0 < hi:
        bound = max(-lo, hi)
        return Normalize(-bound, bound)
    return Normalize(lo, hi if hi > lo else lo + 1.0)


def draw_cell(ax: Axes, arch: Any, cell_type: str = "normal", scores: Mapping[Any, float] | None = None,
              cmap: str = "coolwarm", norm: Normalize | None = None, short_names: bool = False,
              title: str | None = None) -> dict[Hashable, tuple[float, float, float, float]]:
    """Draw one cell on ``ax``; returns the RGBA colour given to each scored position."""
    graph = cell_graph(arch, cell_type)
    pos = layout(graph)
    colour_map = colormaps[cmap]
    scale = norm or score_norm(scores or {})
    coloured: dict[Hashable, tuple[float, float, float, float]] = {}

    def colour_of(position: Hashable | None) -> tuple[float, float, float, float] | str:
        if scores is None or position is None or position not in scores:
            return _NEUTRAL
        rgba = tuple(float(c) for c in colour_map(scale(scores[position])))
        coloured[position] = rgba  # type: ignore[assignment]
        return rgba  # type: ignore[return-value]

    node_scored = dict(graph.node_positions)
    for k, (src, dst, op, position) in enumerate(graph.edges):
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        span = abs(x2 - x1) / X_STEP
        rad = 0.0 if span <= 1 and x1 != x2 else 0.25 * (1 if k % 2 == 0 else -1)
        disabled = op == DISABLED
        colour = _DISABLED_COLOUR if disabled else colour_of(position)
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), connectionstyle=f"arc3,rad={rad}", arrowstyle="-|>",
                                     mutation_scale=10, color=colour, lw=2.2 if position in coloured else 1.2,
                                     linestyle="--" if disabled else "-", shrinkA=14, shrinkB=14, zorder=1))
        if op:
            # the label sits on the edge's Bezier curve past its middle, where edges from different
            # sources into different nodes have separated (matplotlib's arc3 control point)
            cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
            lx = (1 - _T) ** 2 * x1 + 2 * (1 - _T) * _T * cx + _T ** 2 * x2
            ly = (1 - _T) ** 2 * y1 + 2 * (1 - _T) * _T * cy + _T ** 2 * y2
            ax.text(lx, ly, short_name(op) if short_names else op, fontsize=7, ha="center", va="center",
                    color=_DISABLED_COLOUR if disabled else "black", zorder=3,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
    sources = {n for n, _ in graph.nodes} - {d for _, d, _, _ in graph.edges}
    sinks = {n for n, _ in graph.nodes} - {s for s, _, _, _ in graph.edges}
    for node, label in graph.nodes:
        face: Any = _IO_FACE if node in sources | sinks else _NODE_FACE
        if node in node_scored:
            scored = colour_of(node_scored[node])
            face = scored if scored != _NEUTRAL else face
        text = _NB101_SHORT.get(label, label) if isinstance(arch, NB101Arch) and short_names else label
        ax.text(*pos[node], text, ha="center", va="center", fontsize=8, zorder=4,
                bbox={"boxstyle": "round,pad=0.35", "fc": face, "ec": _NEUTRAL})
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 1.0, max(ys) + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return coloured


def _extent(graph: CellGraph) -> float:
    xs = [x for x, _ in layout(graph).values()]
    return (max(xs) - min(xs)) / X_STEP + 1.0


def plot_cell(arch: Any, path: str | Path, cell_types: Sequence[str] | None = None,
              scores: Mapping[Any, float] | None = None, cmap: str = "coolwarm", short_names: bool = False,
              title: str | None = None, score_label: str = "operation importance") -> Path:
    """One figure of ``arch``: both cells of a DARTS genotype side by side (or ``cell_types``), else its
    single cell; with ``scores``, one shared colour scale and a colour bar (redundancy paper Fig. 9)."""
    types = list(cell_types) if cell_types is not None else (
        list(CELL_TYPES) if isinstance(arch, DartsGenotype) else ["normal"])
    norm = score_norm(scores or {})
    widths = [_extent(cell_graph(arch, c)) for c in types]
    ratios = [*widths, 0.12] if scores else widths
    fig = Figure(figsize=(1.6 * sum(ratios) + 0.4, 3.8))
    axes = list(fig.subplots(1, len(ratios), squeeze=False, gridspec_kw={"width_ratios": ratios})[0])
    for ax, cell_type in zip(axes, types, strict=False):
        draw_cell(ax, arch, cell_type, scores, cmap, norm, short_names,
                  f"{cell_type} cell" if isinstance(arch, DartsGenotype) else None)
    if scores:
        fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=axes[-1], label=score_label)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
