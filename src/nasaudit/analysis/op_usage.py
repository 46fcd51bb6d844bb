"""Operation usage among the ground-truth top-N (single-path paper, Sec. 4.1, Fig. 3).

For each op subset (the full space, and each op masked once) the benchmark is restricted to the archs
that use only the remaining ops and re-ranked; for each N, ``usage`` is the fraction of the top-N that
use the op at any position and ``share`` the fraction of all operation slots of the top-N that hold it
(the shares of all ops sum to 1; ``count`` is the raw number of slots, for other normalisations).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasaudit.analysis.operations import operations
from nasaudit.analysis.ranking import best_first
from nasaudit.errors import DataError, SpaceError
from nasaudit.spaces.base import SearchSpace

#: the N of Fig. 3 (single-path paper); ``None`` stands for every architecture of the subset
DEFAULT_TOP_N: tuple[int | None, ...] = (10, 25, 50, 100, 150, 250, 500, None)
#: the ``mask`` label of the unmasked space (the paper's "mask={}")
NO_MASK = "{}"


def op_counts(archs: Sequence[Any], ops: Sequence[str]) -> np.ndarray:
    """``(n_archs, n_ops)`` matrix: how many positions of each arch hold each op (the counts behind Fig. 3)."""
    index = {op: i for i, op in enumerate(ops)}
    rows, cols = [], []
    for row, arch in enumerate(archs):
        for operation in operations(arch):
            if operation.op not in index:
                raise DataError(f"architecture {arch} uses op {operation.op!r}, not in {list(ops)}")
            rows.append(row)
            cols.append(index[operation.op])
    counts = np.zeros((len(archs), len(ops)), dtype=np.int64)
    np.add.at(counts, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)), 1)
    return counts


def op_usage(
    space: SearchSpace,
    archs: Sequence[Any],
    scores: np.ndarray,
    top_n: Sequence[int | None] = DEFAULT_TOP_N,
    masks: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Usage and share of each op among the top-N archs, unmasked and with each op in ``masks`` masked.

    ``archs``/``scores`` are the ground truth (e.g. a whole tabular benchmark). ``masks`` defaults to
    every op of the space (``"{}"`` in the output is the unmasked space). Columns: ``mask, subset_size,
    top_n, op, n_using, usage, count, share``.
    """
    archs = [space.coerce(a) for a in archs]
    scores = np.asarray(scores, dtype=float)
    ops = list(space.ops)
    counts = op_counts(archs, ops)
    order = best_first(scores, [str(a) for a in archs])
    counts = counts[order]
    slots = int(counts[0].sum()) if len(counts) else 0
    frames = []
    for mask in [NO_MASK, *(ops if masks is None else masks)]:
        if mask != NO_MASK:
            if mask not in ops:
                raise SpaceError(f"cannot mask unknown op {mask!r}; the ops of {space.name!r} are {ops}")
            subset = counts[counts[:, ops.index(mask)] == 0]
        else:
            subset = counts
        frames.append(_usage_table(subset, ops, slots, top_n, mask))
    return pd.concat(frames, ignore_index=True)


def _usage_table(counts: np.ndarray, ops: list[str], slots: int, top_n: Sequence[int | None],
                 mask: str) -> pd.DataFrame:
    if not len(counts):
        raise DataError(f"no architecture is left after masking {mask!r}")
    ns = sorted({len(counts) if n is None else min(int(n), len(counts)) for n in top_n})
    if ns[0] < 1:
        raise DataError(f"top-N values must be positive, got {list(top_n)}")
    n = np.asarray(ns)
    used = np.cumsum(counts > 0, axis=0)[n - 1]  # (len(ns), n_ops): archs among the top-N using each op
    total = np.cumsum(counts, axis=0)[n - 1]
    return pd.DataFrame({
        "mask": mask,
        "subset_size": len(counts),
        "top_n": np.repeat(n, len(ops)),
        "op": np.tile(ops, len(ns)),
        "n_using": used.ravel(),
        "usage": (used / n[:, None]).ravel(),
        "count": total.ravel(),
        "share": (total / (n[:, None] * slots)).ravel(),
    })
