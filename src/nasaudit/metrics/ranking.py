"""Where a found architecture stands in the whole space (search-phase paper, Sec. 4.2 and App. A.2)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
from scipy.special import gammaln

from nasaudit.errors import DataError
from nasaudit.metrics._checks import as_count, as_floats, as_scores


def space_rank(found: float | Sequence[float] | np.ndarray,
               space_scores: Sequence[float] | np.ndarray) -> int | np.ndarray:
    """Rank of each found score in the whole space: 1 + the number of strictly better architectures.

    Search-phase paper Sec. 4.2 / App. A.2 rank architectures from 1 (best) to the space size; ties
    share the best rank of their group. A scalar gives an int, an array an int64 array.
    """
    ordered = np.sort(as_scores(space_scores, "space scores"))
    values = as_floats(found, "found scores")
    ranks = (ordered.size - np.searchsorted(ordered, values, side="right") + 1).astype(np.int64)
    return int(ranks) if ranks.ndim == 0 else ranks


def p_surpass_random(rank: int | Sequence[int] | np.ndarray, space_size: int, n: int) -> float | np.ndarray:
    """Probability that an architecture of rank ``r`` beats the best of ``n`` uniform random draws.

    Search-phase paper App. A.2. The printed eq. (1), ``1 - (1 - r/r_max)^n``, does not reproduce the
    paper's own Tables 3 and 4; ``(1 - r/r_max)^n`` does, for every row (e.g. NAO: r=19552,
    r_max=423624, n=10 runs -> 0.62; ENAS w/o WS: r=4610 -> 0.90). That is the probability that all
    ``n`` random draws rank below ``r``, which is the stated meaning, so it is what this returns.

    It assumes the ``n`` random draws are made *with replacement* (independent uniform draws, so the same
    architecture may come up twice). Random search without repeats does better than this when ``n`` is
    not small against ``space_size``, so the value is then an overestimate of the chance to beat it.
    A scalar rank gives a float, an array of ranks an array.
    """
    ranks = as_floats(rank, "ranks")
    as_count(space_size, "space_size")
    as_count(n, "n")
    if np.any((ranks < 1) | (ranks > space_size)):
        raise DataError(f"ranks must lie in 1..{space_size}, got {ranks[(ranks < 1) | (ranks > space_size)][:3]}")
    probability = (1.0 - ranks / space_size) ** n
    return float(probability) if probability.ndim == 0 else probability


def expected_best_of_n(space_scores: Sequence[float] | np.ndarray, n: int, replace: bool = True) -> float:
    """Exact expected maximum of ``n`` uniform draws from the empirical score distribution.

    What random search with budget ``n`` must land on (search-phase paper Sec. 3.1). ``replace=False``
    gives ``n`` distinct architectures, as the project's random search draws them.
    """
    ordered = np.sort(as_scores(space_scores, "space scores"))
    size = ordered.size
    as_count(n, "n", 1, None if replace else size)  # with replacement any n is defined (the mean tends to the max)
    i = np.arange(size + 1, dtype=np.float64)
    if replace:
        cdf = (i / size) ** n
    else:  # P(max among the i smallest) = C(i, n) / C(size, n)
        log_cdf = np.full(size + 1, -np.inf)
        ok = i >= n
        log_cdf[ok] = (gammaln(i[ok] + 1) - gammaln(i[ok] - n + 1)
                       - gammaln(size + 1.0) + gammaln(size - n + 1.0))
        cdf = np.exp(log_cdf)
    return float(np.dot(ordered, np.diff(cdf)))


def representatives(keys: Sequence[Hashable] | np.ndarray) -> np.ndarray:
    """Indices of the first member of each equivalence class, in input order (de-isomorphised view)."""
    _, first = np.unique(np.asarray(keys, dtype=object).astype(str), return_index=True)
    return np.sort(first)
