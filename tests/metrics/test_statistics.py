"""Welch's t-test and the Wilcoxon signed-rank test agree with textbook reference computations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from nasaudit.errors import DataError
from nasaudit.metrics import mean_std, welch_ttest, wilcoxon_test


@pytest.mark.parametrize("seed", range(6))
def test_welch_matches_formula(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.3, 1.0, 12), rng.normal(0.0, 2.5, 30)
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    t = (a.mean() - b.mean()) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    result = welch_ttest(a, b)
    assert result.statistic == pytest.approx(t, rel=1e-10)
    assert result.pvalue == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-8)
    assert welch_ttest(a, b, "greater").pvalue == pytest.approx(stats.t.sf(t, df), rel=1e-8)


def test_welch_without_variance_is_undefined() -> None:
    assert math.isnan(welch_ttest([1.0, 1.0], [1.0, 1.0]).pvalue)


@pytest.mark.parametrize("seed", range(6))
def test_wilcoxon_matches_exact_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=10)
    b = a - rng.normal(0.4, 1.0, 10)
    diff = a - b
    ranks = stats.rankdata(np.abs(diff))
    w_plus = ranks[diff > 0].sum()
    # exact null: every sign pattern equally likely
    null = [sum(r for r, s in zip(ranks, signs, strict=True) if s) for signs in itertools.product([0, 1], repeat=10)]
    null = np.array(null)
    p_two = min(1.0, 2 * min(np.mean(null <= w_plus), np.mean(null >= w_plus)))
    result = wilcoxon_test(a, b)
    assert result.statistic == pytest.approx(min(w_plus, ranks.sum() - w_plus))
    assert result.pvalue == pytest.approx(p_two, rel=1e-9)
    assert wilcoxon_test(a, b, "greater").pvalue == pytest.approx(np.mean(null >= w_plus), rel=1e-9)


def test_mean_std_and_errors() -> None:
    mean, std = mean_std([1.0, 2.0, 3.0, 4.0])
    assert (mean, std) == pytest.approx((2.5, np.std([1, 2, 3, 4], ddof=1)))
    assert mean_std([5.0]) == (5.0, 0.0)
    with pytest.raises(DataError, match="every paired difference is zero"):
        wilcoxon_test([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(DataError, match="alternative"):
        welch_ttest([1.0, 2.0], [3.0, 4.0], "bigger")  # type: ignore[arg-type]


def test_welch_on_nearly_identical_samples_warns_in_our_words() -> None:
    import warnings

    from nasaudit.errors import ResultWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        welch_ttest([79.0, 79.0 + 1e-13, 79.0], [80.0, 80.0, 80.0 + 1e-13])
    assert [w.category for w in caught] == [ResultWarning]
    assert "nearly identical" in str(caught[0].message)
