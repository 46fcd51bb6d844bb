"""Ranking correlations between ground truth and predictions (single-path paper, Sec. 3.1 and 3.4;
search-phase paper, App. A.1).

Every function takes the ground truth first and returns NaN where a correlation is undefined (one side
constant). Higher scores are better on both sides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from nasaudit.errors import DataError
from nasaudit.metrics._checks import as_count, as_floats, as_pair, as_scores, top_indices

#: the top-N sizes of the single-path paper (Sec. 3.2)
PAPER_TOP_NS: tuple[int, ...] = (10, 25, 50, 150, 250, 500)
Scores = Sequence[float] | np.ndarray


def _constant(*arrays: np.ndarray) -> bool:
    return any(np.ptp(a) == 0 for a in arrays)


def kendall_tau(truth: Scores, predicted: Scores) -> float:
    """Kendall tau-b over paired scores (search-phase paper App. A.1; single-path paper Sec. 3.1)."""
    a, b = as_pair(truth, predicted)
    if _constant(a, b):
        return float("nan")
    return float(stats.kendalltau(a, b).statistic)


def kendall_tau_topn(truth: Scores, predicted: Scores, n: int) -> float:
    """Kendall tau-b restricted to the ``n`` best architectures by ground truth (single-path paper Sec. 3.2)."""
    a, b = as_pair(truth, predicted)
    top = top_indices(a, n)
    return kendall_tau(a[top], b[top])


def top_n_average(truth: Scores, predicted: Scores | np.ndarray, ns: Sequence[int] = PAPER_TOP_NS) -> np.ndarray:
    """A_N of the single-path paper (Sec. 3.4): mean prediction over the ground-truth top-N, averaged over seeds.

    ``predicted`` is one score per architecture, or a ``(seeds, architectures)`` array.
    """
    a = as_scores(truth, "ground-truth scores", 2)
    p = np.atleast_2d(as_floats(predicted, "predicted scores"))
    if p.ndim != 2 or p.shape[1] != a.size:
        raise DataError(f"predicted scores must have shape (architectures,) or (seeds, architectures) "
                        f"with {a.size} architectures, got {np.shape(predicted)}")
    sizes = np.asarray([as_count(n, "top-N size", 1, a.size) for n in ns], dtype=np.int64)
    if sizes.size == 0:
        raise DataError("top_n_average needs at least one top-N size")
    order = top_indices(a, int(sizes.max()))
    cumulative = np.cumsum(p[:, order], axis=1)
    return (cumulative[:, sizes - 1] / sizes).mean(axis=0)


def tau_a(truth: Scores, predicted: Scores | np.ndarray, ns: Sequence[int] = PAPER_TOP_NS) -> float:
    """tau_a of the single-path paper (Sec. 3.4): Kendall tau of the series (N, A_N).

    -1 is best: a supernet that ranks well predicts a lower average accuracy as N grows.
    """
    sizes = list(ns)
    if len(sizes) < 2 or len(set(sizes)) != len(sizes):
        raise DataError(f"tau_a needs at least two distinct top-N sizes, got {sizes}")
    return kendall_tau(np.asarray(sizes, dtype=np.float64), top_n_average(truth, predicted, sizes))


def spearman(truth: Scores, predicted: Scores) -> float:
    """Spearman rank correlation (Pearson over average ranks)."""
    a, b = as_pair(truth, predicted)
    if _constant(a, b):
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def pearson(truth: Scores, predicted: Scores) -> float:
    """Pearson linear correlation."""
    a, b = as_pair(truth, predicted)
    if _constant(a, b):
        return float("nan")
    return float(stats.pearsonr(a, b).statistic)


def precision_at_k(truth: Scores, predicted: Scores, k: int) -> float:
    """Share of the ground-truth top-``k`` that the predictions also place in their top-``k``."""
    a, b = as_pair(truth, predicted, min_size=1)
    overlap = np.intersect1d(top_indices(a, k), top_indices(b, k)).size
    return overlap / k
