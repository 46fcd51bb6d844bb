"""Ranks in the space, p(>random) against the search-phase paper's tables, expected best-of-n."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasaudit.errors import DataError
from nasaudit.metrics import expected_best_of_n, p_surpass_random, representatives, space_rank

NASBENCH_SIZE = 423_624  # NASBench-101 7-node space (search-phase paper App. A.2)
RUNS = 10
# (best rank, printed p(>random)): Table 3 (B) with weight sharing, Table 4 without
TABLE_3 = [(57079, 0.24), (19552, 0.62), (96939, 0.07)]  # DARTS, NAO, ENAS
TABLE_4 = [(3543, 0.92), (4610, 0.90)]  # NAO, ENAS


@pytest.mark.parametrize(("rank", "printed"), TABLE_3 + TABLE_4)
def test_p_surpass_random_reproduces_tables_3_and_4(rank: int, printed: float) -> None:
    value = p_surpass_random(rank, NASBENCH_SIZE, RUNS)
    assert isinstance(value, float)
    assert round(value, 2) == printed
    # the printed eq. (1), 1 - (1 - r/r_max)^n, does not reproduce the tables
    assert round(1 - value, 2) != printed


def test_p_surpass_random_is_the_chance_all_random_draws_rank_worse() -> None:
    rng = np.random.default_rng(0)
    size, n, rank = 50, 4, 11
    draws = rng.integers(1, size + 1, size=(200_000, n))
    simulated = np.mean(draws.min(axis=1) > rank)
    assert p_surpass_random(rank, size, n) == pytest.approx(simulated, abs=0.005)
    assert p_surpass_random([rank, size], size, n).tolist() == pytest.approx([simulated, 0.0], abs=0.005)
    with pytest.raises(DataError, match="ranks must lie"):
        p_surpass_random(0, size, n)


@pytest.mark.parametrize("seed", range(5))
def test_space_rank_matches_counting(seed: int) -> None:
    rng = np.random.default_rng(seed)
    space = rng.integers(0, 20, 300).astype(float)
    found = rng.integers(-2, 23, 30).astype(float)
    expected = [1 + sum(s > f for s in space) for f in found]
    assert space_rank(found, space).tolist() == expected
    assert space_rank(float(space.max()), space) == 1


@pytest.mark.parametrize("seed", range(4))
def test_expected_best_of_n_matches_enumeration(seed: int) -> None:
    values = np.random.default_rng(seed).integers(0, 5, 6).astype(float)  # ties included
    for n in (1, 2, 3):
        with_replacement = np.mean([max(t) for t in itertools.product(values, repeat=n)])
        without = np.mean([max(c) for c in itertools.combinations(values, n)])
        assert expected_best_of_n(values, n) == pytest.approx(with_replacement, abs=1e-12)
        assert expected_best_of_n(values, n, replace=False) == pytest.approx(without, abs=1e-12)
    assert expected_best_of_n(values, 6, replace=False) == values.max()


def test_representatives_keep_first_member_in_order() -> None:
    assert representatives(["b", "a", "b", "c", "a"]).tolist() == [0, 1, 3]
