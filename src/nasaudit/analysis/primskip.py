"""The PrimSkip study and the minimal PrimSkip edit (redundancy paper Sec. 4, Fig. 10, Table 2a; App. D, Fig. 16).

The study samples the four groups (no constraint, Skip only, Prim only, PrimSkip) and compares their
score distributions, and locates a known global optimum relative to them. The edit makes a published
DARTS genotype comply with the paper's rules while keeping its wiring: primitives outside
``{sep_conv_3x3, sep_conv_5x5, skip_connect}`` are replaced by the separable convolution of the same
kernel size, skips between intermediate nodes (non-residual) become ``sep_conv_3x3``, a residual link
(a skip from an input node) is created if the cell has none, and the reduce cell is set to the edited
normal cell. The edit distance counts the changed operations of the normal cell (Table 2a: GAEA,
already compliant, has distance 0 although its reduce cell is replaced).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nasaudit.errors import DataError, SpaceError
from nasaudit.evaluators import Evaluator
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.constraints import DARTS_PRIMS, PRIMSKIP_GROUPS, SKIP_OP, PrimSkip
from nasaudit.spaces.darts import DartsCell, DartsGenotype

#: the replacement of each non-compliant primitive: the separable convolution of the same kernel size
KERNEL_MATCH: dict[str, str] = {
    "dil_conv_3x3": "sep_conv_3x3",
    "dil_conv_5x5": "sep_conv_5x5",
    "max_pool_3x3": "sep_conv_3x3",
    "avg_pool_3x3": "sep_conv_3x3",
}
#: the replacement of a skip that does not form a residual link
NON_RESIDUAL_SKIP_REPLACEMENT = "sep_conv_3x3"
DARTS_INPUTS = (0, 1)


def primskip_study(
    evaluator: Evaluator, n_per_group: int = 50, seed: SeedLike = 0,
    groups: Sequence[str] = PRIMSKIP_GROUPS,
) -> pd.DataFrame:
    """Score ``n_per_group`` samples of each PrimSkip group (Fig. 10 / Fig. 16), one ``evaluate`` call.

    Columns: ``group, arch, score``; the same ``seed`` gives the same samples.
    """
    if n_per_group < 1:
        raise DataError(f"n_per_group must be at least 1, got {n_per_group}")
    space = evaluator.space
    rng = as_generator(seed)
    archs, labels = [], []
    for group in groups:
        archs.extend(PrimSkip(space, group).sample_many(n_per_group, rng))
        labels.extend([group] * n_per_group)
    scores = np.asarray(evaluator.evaluate(archs), dtype=float)
    return pd.DataFrame({"group": labels, "arch": [str(a) for a in archs], "score": scores})


def group_summary(study: pd.DataFrame) -> pd.DataFrame:
    """Per group: count, mean, std, min, quartiles and max of the scores (Fig. 10 / Fig. 16)."""
    summary = study.groupby("group", sort=False)["score"].describe()
    return summary.rename(columns={"25%": "q25", "50%": "median", "75%": "q75"}).reset_index()


def optimum_vs_groups(
    space: SearchSpace, archs: Sequence[Any], scores: np.ndarray, study: pd.DataFrame
) -> pd.DataFrame:
    """Where the global optimum of a fully known benchmark falls relative to each group (App. D, Fig. 16).

    ``archs``/``scores`` are the whole benchmark. Per group: whether the optimum belongs to it, its
    best and mean sampled score, the fraction of samples scoring below the optimum, and (exhaustively
    over the benchmark) the group's size there and its best member.
    """
    scores = np.asarray(scores, dtype=float)
    if len(scores) != len(archs) or not len(archs):
        raise DataError(f"need one score per architecture, got {len(scores)} for {len(archs)}")
    best = int(np.argmax(scores))
    optimum, optimum_score = archs[best], float(scores[best])
    rows = []
    for group, sampled in study.groupby("group", sort=False):
        constraint = PrimSkip(space, str(group))
        members = np.fromiter((constraint.satisfied(a) for a in archs), dtype=bool, count=len(archs))
        sample_scores = sampled["score"].to_numpy(dtype=float)
        rows.append({
            "group": group,
            "optimum": str(optimum),
            "optimum_score": optimum_score,
            "optimum_in_group": bool(members[best]),
            "sampled_best": float(sample_scores.max()),
            "sampled_mean": float(sample_scores.mean()),
            "fraction_sampled_below_optimum": float((sample_scores < optimum_score).mean()),
            "group_size_in_benchmark": int(members.sum()),
            "group_best_in_benchmark": float(scores[members].max()) if members.any() else np.nan,
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PrimSkipEdit:
    """The result of ``minimal_primskip_edit``: the edited genotype, its edit distance and the changes."""

    original: DartsGenotype
    edited: DartsGenotype
    distance: int
    changes: tuple[str, ...]


def has_residual_link(cell: DartsCell) -> bool:
    """Whether some intermediate node takes ``skip_connect`` from an input node (Sec. 4, Fig. 8)."""
    return any(op == SKIP_OP and src in DARTS_INPUTS for op, src in cell.edges)


def minimal_primskip_edit(genotype: DartsGenotype, prims: Sequence[str] = DARTS_PRIMS) -> PrimSkipEdit:
    """The edit of Table 2a ("Edited", "Edit dist."): make ``genotype`` PrimSkip-compliant without rewiring."""
    if not isinstance(genotype, DartsGenotype):
        raise SpaceError(f"the PrimSkip edit is defined for DARTS genotypes, not {type(genotype).__name__}")
    allowed = {*prims, SKIP_OP}
    cell = genotype.normal
    edges = list(cell.edges)
    for k, (op, src) in enumerate(edges):
        if op == SKIP_OP and src not in DARTS_INPUTS:
            edges[k] = (NON_RESIDUAL_SKIP_REPLACEMENT, src)
        elif op not in allowed:
            replacement = KERNEL_MATCH.get(op, prims[0])
            edges[k] = (replacement if replacement in prims else prims[0], src)
    if not has_residual_link(DartsCell(tuple(edges), cell.concat)):
        k = _residual_candidate(cell, edges)
        edges[k] = (SKIP_OP, edges[k][1])
    edited = DartsCell(tuple(edges), cell.concat)
    changes = tuple(
        f"node {k // 2 + 2} input {src}: {old} -> {new}"
        for k, ((old, src), (new, _)) in enumerate(zip(cell.edges, edited.edges, strict=True)) if old != new
    )
    return PrimSkipEdit(genotype, DartsGenotype(edited, edited), len(changes), changes)


def _residual_candidate(original: DartsCell, edges: list[tuple[str, int]]) -> int:
    """The input edge to turn into a skip: one already being edited if any (no extra cost), else the first."""
    from_inputs = [k for k, (_, src) in enumerate(edges) if src in DARTS_INPUTS]
    already_changed = [k for k in from_inputs if edges[k] != original.edges[k]]
    return (already_changed or from_inputs)[0]
