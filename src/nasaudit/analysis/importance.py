"""Operation importance (redundancy paper, Sec. 3, eq. 1; App. D for NB201).

``OI(a, e := o) = y(a) - mean_{a' in N(a, e)} y(a')`` where ``N(a, e)`` are the neighbours that change
only that operation: another primitive on the edge, or the same primitive with one end rewired within
the space's constraints (exactly ``space.neighbours(arch, position)``). ``|OI| >= 0.001`` on the 0-1
accuracy scale marks an important operation (Sec. 3, about the noise of the better NB301 architectures;
App. D shades each NB201 dataset's own noise standard deviation instead: pass it as ``threshold``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from nasaudit.analysis.operations import input_nodes, operations, output_node
from nasaudit.errors import DataError
from nasaudit.evaluators import Evaluator
from nasaudit.spaces.base import SearchSpace

#: |OI| at or above this (0-1 accuracy scale) marks an important operation (redundancy paper Sec. 3)
IMPORTANCE_THRESHOLD = 0.001
#: the primitive whose OI Fig. 8 splits by the link it forms
SKIP = "skip_connect"
#: Fig. 8's label of a skip that forms no residual link
OTHER_SKIP = "other"
Units = Literal["fraction", "percent"]
_TO_FRACTION = {"fraction": 1.0, "percent": 0.01}


def to_fraction(scores: np.ndarray, units: Units) -> np.ndarray:
    """Scores on the 0-1 scale of the OI threshold (Sec. 3): ``percent`` divides by 100, ``fraction`` passes through."""
    if units not in _TO_FRACTION:
        raise DataError(f"units must be one of {list(_TO_FRACTION)}, got {units!r}")
    return np.asarray(scores, dtype=float) * _TO_FRACTION[units]


def operation_importance(
    evaluator: Evaluator,
    archs: Sequence[Any],
    units: Units = "fraction",
    threshold: float = IMPORTANCE_THRESHOLD,
) -> pd.DataFrame:
    """OI of every operation of every arch (redundancy paper eq. 1), one row per operation.

    All archs and all their neighbours are scored in a single ``evaluator.evaluate`` call. ``units``
    says what the evaluator returns (``percent`` for the NB201 tables) so that ``oi`` and ``threshold``
    are on the 0-1 scale. Columns: ``arch, cell, position, src, dst, primitive, score,
    n_neighbours, neighbour_mean, oi, important`` (``oi`` is NaN for an op without neighbours).
    """
    if threshold < 0:
        raise DataError(f"importance threshold must be non-negative, got {threshold}")
    space = evaluator.space
    archs = [space.coerce(a) for a in archs]
    if not archs:
        raise DataError("operation importance needs at least one architecture")
    unique: dict[Any, int] = {}

    def index_of(arch: Any) -> int:
        return unique.setdefault(arch, len(unique))

    rows: list[tuple[str, str, str, int, int, str, int]] = []
    neighbour_idx: list[int] = []
    neighbour_group: list[int] = []
    for arch in archs:
        own = index_of(arch)
        for operation in operations(arch):
            group = len(rows)
            rows.append((str(arch), operation.cell, str(operation.position), operation.src, operation.dst,
                         operation.op, own))
            for neighbour in space.neighbours(arch, operation.position):
                neighbour_idx.append(index_of(neighbour))
                neighbour_group.append(group)
    scores = to_fraction(evaluator.evaluate(list(unique)), units)
    if np.isnan(scores).any():
        raise DataError(f"the evaluator returned NaN for {int(np.isnan(scores).sum())} architecture(s)")
    table = pd.DataFrame(rows, columns=["arch", "cell", "position", "src", "dst", "primitive", "_own"])
    groups = np.asarray(neighbour_group, dtype=np.int64)
    counts = np.bincount(groups, minlength=len(table))
    sums = np.bincount(groups, weights=scores[np.asarray(neighbour_idx, dtype=np.int64)], minlength=len(table))
    table["score"] = scores[table.pop("_own").to_numpy()]
    table["n_neighbours"] = counts
    table["neighbour_mean"] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    table["oi"] = table["score"] - table["neighbour_mean"]
    table["important"] = table["oi"].abs() >= threshold
    return table


def importance_counts(oi: pd.DataFrame) -> pd.DataFrame:
    """Counts of all and of important operations per cell type and primitive (redundancy paper Fig. 3)."""
    grouped = oi.groupby(["cell", "primitive"], sort=True)
    counts = grouped.agg(n_all=("oi", "size"), n_important=("important", "sum"),
                         median_oi=("oi", "median"), mean_oi=("oi", "mean")).reset_index()
    counts["fraction_important"] = counts["n_important"] / counts["n_all"]
    return counts


def importance_agreement(reference: pd.DataFrame, other: pd.DataFrame) -> dict[str, float]:
    """How well ``other`` OI (e.g. through a surrogate, App. F) matches ``reference`` OI (e.g. a table).

    Operations are matched on ``(arch, position)``; returns the Spearman and Pearson correlation of
    their OI, the fraction on which the ``important`` flag agrees, and the number matched.
    """
    keys = ["arch", "position"]
    merged = reference[[*keys, "oi", "important"]].merge(other[[*keys, "oi", "important"]], on=keys,
                                                          suffixes=("_ref", "_other")).dropna()
    if len(merged) < 2:
        raise DataError(f"only {len(merged)} operation(s) are shared by the two OI tables; need at least 2")
    pair = merged[["oi_ref", "oi_other"]]
    return {
        "spearman": float(pair.corr(method="spearman").iloc[0, 1]),
        "pearson": float(pair.corr(method="pearson").iloc[0, 1]),
        "important_agreement": float((merged["important_ref"] == merged["important_other"]).mean()),
        "n_operations": float(len(merged)),
    }


def skip_links(space: SearchSpace, oi: pd.DataFrame) -> pd.DataFrame:
    """The ``skip_connect`` rows of an OI table with the link each forms, column ``link`` (redundancy paper Fig. 8).

    As the authors' release labels them (notebooks/operation_importance.ipynb): ``in<k>`` for a skip from cell
    input ``k`` (DARTS: ``in0`` = c_{k-2}, ``in1`` = c_{k-1}), a ResNet-style residual link since the node it feeds
    sums it with another operation; ``other`` for a skip between intermediate nodes. Where the cell has an output
    node (NB201) only the skip from the input to it is a residual link (App. D: edge 0 -> 3).
    """
    rows = oi[oi["primitive"] == SKIP]
    if rows.empty:
        return rows.assign(link=pd.Series(dtype=str))
    arch = space.parse(str(rows["arch"].iloc[0]))  # the node roles are fixed by the space
    out = output_node(arch)
    residual = rows["src"].isin(input_nodes(arch)) & (rows["dst"] == out if out is not None else True)
    return rows.assign(link=np.where(residual, "in" + rows["src"].astype(str), OTHER_SKIP))


def skip_link_summary(oi: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Skip OI per cell type and link (Fig. 8): ``in<k>`` and ``other`` as ``skip_links`` labels them, ``residual``
    any ``in<k>``, ``all`` every skip. ``share_of_archs`` is the fraction of the OI table's archs with at least one
    such skip in that cell (Sec. 4: a residual link in 98.5% of the top NB301 normal cells, about half at random)."""
    residual = links[links["link"] != OTHER_SKIP]
    grouped = pd.concat([links, residual.assign(link="residual"), links.assign(link="all")]).groupby(
        ["cell", "link"], sort=True)
    summary = grouped.agg(n_skips=("oi", "size"), n_archs=("arch", "nunique"), median_oi=("oi", "median"),
                          mean_oi=("oi", "mean"), fraction_important=("important", "mean"),
                          fraction_positive=("oi", lambda v: float((v > 0).mean()))).reset_index()
    archs_per_cell = oi.groupby("cell")["arch"].nunique()
    summary["share_of_archs"] = summary["n_archs"] / summary["cell"].map(archs_per_cell)
    return summary
