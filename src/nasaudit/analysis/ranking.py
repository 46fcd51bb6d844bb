"""Ranking helpers shared by the analyses: a deterministic best-first order and top-fraction selection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasaudit.errors import DataError


def best_first(scores: np.ndarray, keys: Sequence[str]) -> np.ndarray:
    """Indices ordering ``scores`` best first (the top-N of single-path paper Sec. 3.4); ties broken by ``keys``."""
    scores = np.asarray(scores, dtype=float)
    if len(scores) != len(keys):
        raise DataError(f"{len(scores)} scores for {len(keys)} architectures")
    if np.isnan(scores).any():
        raise DataError(f"{int(np.isnan(scores).sum())} score(s) are NaN; rank only evaluated architectures")
    return np.lexsort((np.asarray(keys, dtype=object).astype(str), -scores))


def top_fraction(archs: Sequence[Any], scores: np.ndarray, fraction: float) -> tuple[list[Any], np.ndarray]:
    """The best ``ceil(fraction * n)`` archs and their scores, best first (redundancy paper Sec. 3: top 5%)."""
    if not 0 < fraction <= 1:
        raise DataError(f"fraction must be in (0, 1], got {fraction}")
    order = best_first(scores, [str(a) for a in archs])
    keep = order[: int(np.ceil(fraction * len(order)))]
    return [archs[i] for i in keep], np.asarray(scores, dtype=float)[keep]


def bottom_fraction(archs: Sequence[Any], scores: np.ndarray, fraction: float) -> tuple[list[Any], np.ndarray]:
    """The worst ``ceil(fraction * n)`` archs and their scores, worst first (redundancy paper App. A: worst 5%)."""
    if not 0 < fraction <= 1:
        raise DataError(f"fraction must be in (0, 1], got {fraction}")
    order = best_first(scores, [str(a) for a in archs])[::-1]
    keep = order[: int(np.ceil(fraction * len(order)))]
    return [archs[i] for i in keep], np.asarray(scores, dtype=float)[keep]
