"""Ranking correlations agree with slow reference implementations on random inputs (with ties)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from nasaudit.errors import DataError
from nasaudit.metrics import (
    kendall_tau,
    kendall_tau_topn,
    pearson,
    precision_at_k,
    spearman,
    tau_a,
    top_n_average,
)


def ref_tau_b(x: list[float], y: list[float]) -> float:
    concordant = discordant = ties_x = ties_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        ties_x += dx == 0
        ties_y += dy == 0
        concordant += dx * dy > 0
        discordant += dx * dy < 0
    pairs = len(x) * (len(x) - 1) / 2
    return (concordant - discordant) / math.sqrt((pairs - ties_x) * (pairs - ties_y))


def ref_average_ranks(x: list[float]) -> list[float]:
    return [1 + sum(v < a for v in x) + (sum(v == a for v in x) - 1) / 2 for a in x]


def ref_pearson(x: list[float], y: list[float]) -> float:
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def random_pairs(seed: int, n: int = 25, with_ties: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if with_ties:
        return rng.integers(0, 6, n).astype(float), rng.integers(0, 6, n).astype(float)
    x = rng.normal(size=n)
    return x, 0.5 * x + rng.normal(size=n)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("with_ties", [True, False])
def test_kendall_spearman_pearson_match_reference(seed: int, with_ties: bool) -> None:
    x, y = random_pairs(seed, with_ties=with_ties)
    assert kendall_tau(x, y) == pytest.approx(ref_tau_b(list(x), list(y)), abs=1e-12)
    assert spearman(x, y) == pytest.approx(
        ref_pearson(ref_average_ranks(list(x)), ref_average_ranks(list(y))), abs=1e-12)
    assert pearson(x, y) == pytest.approx(ref_pearson(list(x), list(y)), abs=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_topn_tau_and_precision_match_reference(seed: int) -> None:
    truth, pred = random_pairs(seed, n=40, with_ties=False)
    order = sorted(range(40), key=lambda i: -truth[i])
    for n in (5, 17, 40):
        top = order[:n]
        assert kendall_tau_topn(truth, pred, n) == pytest.approx(
            ref_tau_b([truth[i] for i in top], [pred[i] for i in top]), abs=1e-12)
    pred_order = sorted(range(40), key=lambda i: -pred[i])
    for k in (1, 7, 40):
        assert precision_at_k(truth, pred, k) == len(set(order[:k]) & set(pred_order[:k])) / k


@pytest.mark.parametrize("seed", range(4))
def test_tau_a_matches_reference_over_seeds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    truth = rng.normal(size=60)
    preds = rng.normal(size=(3, 60))
    ns = (5, 10, 20, 40, 60)
    order = sorted(range(60), key=lambda i: -truth[i])
    averages = [sum(sum(p[i] for i in order[:n]) / n for p in preds) / len(preds) for n in ns]
    assert top_n_average(truth, preds, ns) == pytest.approx(averages, abs=1e-12)
    assert tau_a(truth, preds, ns) == pytest.approx(ref_tau_b(list(ns), averages), abs=1e-12)


def test_tau_a_is_minus_one_for_a_perfect_predictor() -> None:
    truth = np.linspace(50, 95, 600)
    assert tau_a(truth, truth) == pytest.approx(-1.0)
    assert tau_a(truth, -truth) == pytest.approx(1.0)


def test_undefined_and_bad_inputs() -> None:
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    with pytest.raises(DataError, match="differ in length"):
        kendall_tau([1, 2, 3], [1, 2])
    with pytest.raises(DataError, match="NaN"):
        spearman([1, float("nan")], [1, 2])
    with pytest.raises(DataError, match="top-N"):
        kendall_tau_topn([1, 2, 3], [1, 2, 3], 4)
    with pytest.raises(DataError, match="two distinct"):
        tau_a([1, 2, 3], [1, 2, 3], ns=(2,))
