"""Figures of the search-space analyses, drawn from their tidy tables and saved as PNG.

Each function takes the DataFrame an analysis in ``nasaudit.analysis`` returns and a path, draws with
matplotlib's Agg canvas (no display, no global pyplot state) and returns the path it wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from nasaudit.analysis.importance import IMPORTANCE_THRESHOLD
from nasaudit.analysis.op_usage import NO_MASK
from nasaudit.analysis.operations import SINGLE_CELL
from nasaudit.analysis.subgraphs import pattern_to_networkx
from nasaudit.errors import DataError
from nasaudit.report.canvas import save_figure

#: the short primitive names of the papers' figures, in their order (convolutions, skip, pooling, zero)
SHORT_OP_NAMES: dict[str, str] = {
    "sep_conv_3x3": "s3", "sep_conv_5x5": "s5", "dil_conv_3x3": "d3", "dil_conv_5x5": "d5",
    "nor_conv_1x1": "c1", "nor_conv_3x3": "c3", "skip_connect": "skip", "max_pool_3x3": "mp3",
    "avg_pool_3x3": "ap3", "none": "zero",
}
#: curved edges, so that an edge skipping a layer is not hidden behind the path through it
_CURVED = "arc3,rad=0.25"


def short_name(op: str) -> str:
    """The papers' abbreviation of a primitive (``sep_conv_3x3`` -> ``s3``); unknown names pass through."""
    return SHORT_OP_NAMES.get(op, op)




def _in_paper_order(primitives: Iterable[str]) -> list[str]:
    order = list(SHORT_OP_NAMES)
    return sorted(primitives, key=lambda p: (order.index(p) if p in order else len(order), p))


def _cell_title(cell: str) -> str:
    return "" if cell == SINGLE_CELL else f"{cell} cells"


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing or table.empty:
        raise DataError(f"cannot draw {what}: the table is empty or lacks column(s) {missing}")


def plot_operation_counts(oi: pd.DataFrame, path: str | Path) -> Path:
    """Counts of all vs important operations per primitive and cell type (redundancy paper Fig. 3)."""
    _require(oi, ["cell", "primitive", "important"], "operation counts")
    cells = sorted(oi["cell"].unique())
    primitives = _in_paper_order(oi["primitive"].unique())
    fig = Figure(figsize=(4.5 * len(cells), 3.6))
    for i, cell in enumerate(cells):
        ax = fig.add_subplot(1, len(cells), i + 1)
        rows = oi[oi["cell"] == cell].groupby("primitive")["important"].agg(["size", "sum"]).reindex(primitives)
        x = np.arange(len(primitives))
        ax.bar(x - 0.2, rows["size"].fillna(0), width=0.4, label="all operations", color="#9aa5b8")
        ax.bar(x + 0.2, rows["sum"].fillna(0), width=0.4, label="important (|OI| >= threshold)", color="#d1495b")
        ax.set_xticks(x, [short_name(p) for p in primitives])
        ax.set_ylabel("number of operations")
        ax.set_title(_cell_title(cell))
        ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_importance_boxes(oi: pd.DataFrame, path: str | Path, threshold: float = IMPORTANCE_THRESHOLD) -> Path:
    """Box plots of OI per primitive, one panel per cell type; the band ``|OI| < threshold`` is shaded (Fig. 4)."""
    _require(oi, ["cell", "primitive", "oi"], "operation importance")
    cells = sorted(oi["cell"].unique())
    primitives = _in_paper_order(oi["primitive"].unique())
    fig = Figure(figsize=(4.5 * len(cells), 3.6))
    for i, cell in enumerate(cells):
        ax = fig.add_subplot(1, len(cells), i + 1)
        rows = oi[oi["cell"] == cell]
        data = [rows.loc[rows["primitive"] == p, "oi"].dropna().to_numpy() for p in primitives]
        ax.axhspan(-threshold, threshold, color="#d9dde5", zorder=0)
        ax.boxplot([d if d.size else np.array([np.nan]) for d in data], showfliers=False)
        ax.set_xticks(np.arange(1, len(primitives) + 1), [short_name(p) for p in primitives])
        ax.set_ylabel("operation importance")
        ax.set_title(_cell_title(cell))
    return save_figure(fig, path)


def _layered_layout(graph: nx.DiGraph) -> dict[str, np.ndarray]:
    """Nodes left to right by topological generation, sorted by name within one: independent of hash order."""
    pos: dict[str, np.ndarray] = {}
    for layer, nodes in enumerate(nx.topological_generations(graph)):
        ordered = sorted(nodes)
        for i, node in enumerate(ordered):
            pos[node] = np.array([float(layer), (len(ordered) - 1) / 2 - i])
    return pos


def plot_subgraphs(mined: pd.DataFrame, path: str | Path, top: int = 15) -> Path:
    """The ``top`` mined subgraphs drawn with their support and support ratio (redundancy paper Fig. 7)."""
    _require(mined, ["pattern", "support"], "frequent subgraphs")
    shown = mined.head(top)
    n_cols = min(5, len(shown))
    n_rows = int(np.ceil(len(shown) / n_cols))
    fig = Figure(figsize=(3.2 * n_cols, 2.8 * n_rows))
    for i, row in enumerate(shown.itertuples(index=False)):
        ax = fig.add_subplot(n_rows, n_cols, i + 1)
        graph = pattern_to_networkx(row.pattern)
        pos = _layered_layout(graph)
        nx.draw_networkx(graph, pos, ax=ax, node_color="#cfe3f7", node_size=700, font_size=7, arrowsize=12,
                         connectionstyle=_CURVED)
        nx.draw_networkx_edge_labels(graph, pos, ax=ax, font_size=7, connectionstyle=_CURVED,
                                     edge_labels={e: short_name(graph.edges[e]["op"]) for e in graph.edges})
        ratio = getattr(row, "ratio", None)
        title = f"#{row.rank}  support {row.support:.3f}"
        if ratio is not None:
            title += f"\nratio {ratio:.3g}"
        ax.set_title(title, fontsize=8)
        ax.margins(0.2, 0.35)
        ax.axis("off")
    return save_figure(fig, path)


def plot_primskip(study: pd.DataFrame, path: str | Path, optimum: float | None = None,
                  score_label: str = "score") -> Path:
    """Score distributions of the PrimSkip groups, with the known optimum as a line (Fig. 10 / Fig. 16)."""
    _require(study, ["group", "score"], "the PrimSkip study")
    groups = list(dict.fromkeys(study["group"]))
    fig = Figure(figsize=(1.4 * len(groups) + 2, 3.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.boxplot([study.loc[study["group"] == g, "score"].to_numpy() for g in groups])
    ax.set_xticks(np.arange(1, len(groups) + 1), groups)
    if optimum is not None:
        ax.axhline(optimum, color="#d1495b", linestyle="--", label=f"global optimum {optimum:.2f}")
        ax.legend(fontsize=8)
    ax.set_ylabel(score_label)
    return save_figure(fig, path)


def plot_op_usage(usage: pd.DataFrame, path: str | Path) -> Path:
    """Usage (top row) and share (bottom row) of each op among the top-N, one column per mask (Fig. 3)."""
    _require(usage, ["mask", "top_n", "op", "usage", "share"], "op usage")
    masks = list(dict.fromkeys(usage["mask"]))
    fig = Figure(figsize=(3.2 * len(masks), 5.2))
    for j, mask in enumerate(masks):
        rows = usage[usage["mask"] == mask]
        for i, column in enumerate(("usage", "share")):
            ax = fig.add_subplot(2, len(masks), i * len(masks) + j + 1)
            for op, series in rows.groupby("op", sort=False):
                ax.plot(series["top_n"], series[column], marker="o", markersize=3, label=short_name(str(op)))
            ax.set_xscale("log")
            ax.set_ylim(0, 1.05 if column == "usage" else None)
            ax.set_xlabel("top N")
            ax.set_ylabel(f"operation {column}")
            if i == 0:
                ax.set_title(f"mask={{{short_name(mask)}}}" if mask != NO_MASK else "mask={}", fontsize=9)
                if j == 0:
                    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_cell_shapes(shapes: pd.DataFrame, path: str | Path) -> Path:
    """Width against depth of cells (e.g. a published cell and its random variants, architectures paper Table 2)."""
    _require(shapes, ["name", "width", "depth"], "cell shapes")
    fig = Figure(figsize=(4.8, 3.8))
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(shapes["width"], shapes["depth"], color="#30638e")
    for row in shapes.itertuples(index=False):
        ax.annotate(str(row.name), (row.width, row.depth), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("cell width (units of c)")
    ax.set_ylabel("cell depth")
    return save_figure(fig, path)
