"""Statistics over seeds for the fair comparison (search-phase paper, Sec. 3.1 and Table 3)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from nasaudit.errors import DataError, ResultWarning
from nasaudit.metrics._checks import as_pair, as_scores

Alternative = Literal["two-sided", "greater", "less"]


@dataclass(frozen=True)
class SignificanceResult:
    """A test statistic and its p-value."""

    statistic: float
    pvalue: float


def mean_std(values: Sequence[float] | np.ndarray, ddof: int = 1) -> tuple[float, float]:
    """Mean and standard deviation over seeds (the "mean ± std" of Tables 2-4); std is 0 for one value."""
    array = as_scores(values, "values")
    std = float(array.std(ddof=ddof)) if array.size > ddof else 0.0
    return float(array.mean()), std


def welch_ttest(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                alternative: Alternative = "two-sided") -> SignificanceResult:
    """Welch's unequal-variance t-test of mean(a) against mean(b) (search-phase paper Sec. 3.1: vs random).

    NaN statistic and p-value when neither sample varies. When scipy loses precision (samples nearly
    identical) the result stands with a ``ResultWarning`` saying so, which the audit turns into a note.
    """
    x, y = as_scores(a, "first sample", 2), as_scores(b, "second sample", 2)
    _check_alternative(alternative)
    if np.ptp(x) == 0 and np.ptp(y) == 0:  # no variance on either side: the test is undefined
        return SignificanceResult(float("nan"), float("nan"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        result = stats.ttest_ind(x, y, equal_var=False, alternative=alternative)
    lost = [caveat for caveat in caught if "precision loss" in str(caveat.message).lower()]
    for caveat in caught:
        if caveat not in lost:
            warnings.warn(caveat.message, caveat.category, stacklevel=2)
    if lost:
        warnings.warn(f"Welch's t-test on nearly identical samples (means {x.mean():.6g} and {y.mean():.6g}): "
                      "scipy lost precision, so its p-value is unreliable.", ResultWarning, stacklevel=2)
    return SignificanceResult(float(result.statistic), float(result.pvalue))


def wilcoxon_test(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                  alternative: Alternative = "two-sided") -> SignificanceResult:
    """Wilcoxon signed-rank test of paired samples (e.g. two strategies run with the same seeds).

    The statistic is scipy's: for two-sided, the smaller of the positive- and negative-rank sums;
    otherwise the positive-rank sum of ``a - b``. Zero differences are dropped ("wilcox").
    """
    x, y = as_pair(a, b, min_size=1)
    _check_alternative(alternative)
    if np.all(x == y):
        raise DataError("Wilcoxon test is undefined when every paired difference is zero")
    result = stats.wilcoxon(x, y, alternative=alternative, zero_method="wilcox")
    return SignificanceResult(float(result.statistic), float(result.pvalue))


def _check_alternative(alternative: str) -> None:
    if alternative not in ("two-sided", "greater", "less"):
        raise DataError(f"alternative must be 'two-sided', 'greater' or 'less', got {alternative!r}")
