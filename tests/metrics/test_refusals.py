"""Metrics refuse nonsense with a one-line ``DataError`` (issue R2 2/7, item 9)."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.errors import DataError
from nasaudit.metrics import (
    expected_best_of_n,
    kendall_tau,
    p_surpass_random,
    precision_at_k,
    space_rank,
    tau_a,
    top_n_average,
    welch_ttest,
)

TRUTH = np.arange(10, dtype=np.float64)


@pytest.mark.parametrize("found", [float("nan"), [1.0, float("nan")], float("inf")])
def test_space_rank_refuses_nan_found_scores(found: object) -> None:
    with pytest.raises(DataError, match="found scores contains NaN"):
        space_rank(found, TRUTH)  # type: ignore[arg-type]
    assert space_rank(9.0, TRUTH) == 1 and space_rank([0.0, 4.5], TRUTH).tolist() == [10, 6]


@pytest.mark.parametrize("ns", [[-1, 5], [0, 5], [5, 11], [2.5, 5], [True, 5]])
def test_tau_a_refuses_sizes_outside_the_space(ns: list[object]) -> None:
    with pytest.raises(DataError, match="top-N size"):
        tau_a(TRUTH, TRUTH, ns)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="top-N size"):
        top_n_average(TRUTH, TRUTH, ns)  # type: ignore[arg-type]


def test_tau_a_still_matches_its_definition() -> None:
    # A_N of the predictions over the true top-N: N=2 -> mean(9, 8), N=5 -> mean(9..5), N=10 -> mean(9..0)
    assert top_n_average(TRUTH, TRUTH, [2, 5, 10]).tolist() == [8.5, 7.0, 4.5]
    assert tau_a(TRUTH, TRUTH, [2, 5, 10]) == -1.0


@pytest.mark.parametrize("call", [
    lambda: kendall_tau(["a", "b", "c"], [1, 2, 3]),
    lambda: kendall_tau([1, 2, object()], [1, 2, 3]),
    lambda: kendall_tau([[1, 2], [3]], [1, 2]),
    lambda: space_rank("best", TRUTH),
    lambda: space_rank(1.0, ["x"] * 3),
    lambda: p_surpass_random("1", 10, 2),
    lambda: top_n_average(TRUTH, ["p"] * 10, [2, 5]),
    lambda: welch_ttest([1, 2, "3x"], [1, 2, 3]),
    lambda: precision_at_k(TRUTH, TRUTH, 2.5),
    lambda: expected_best_of_n(TRUTH, 0),
], ids=["strings", "object", "ragged", "rank-str", "space-str", "p-str", "pred-str", "welch", "k-float", "n-zero"])
def test_non_numeric_input_is_a_data_error(call: object) -> None:
    with pytest.raises(DataError) as info:
        call()  # type: ignore[operator]
    assert type(info.value) is DataError and "\n" not in str(info.value)


@pytest.mark.parametrize(("rank", "size", "n"), [(float("nan"), 10, 2), (1, 10, -2), (1, 10, 2.0), (1, 0, 2)])
def test_p_surpass_random_refuses_bad_arguments(rank: float, size: int, n: int) -> None:
    with pytest.raises(DataError):
        p_surpass_random(rank, size, n)


def test_p_surpass_random_documents_draws_with_replacement() -> None:
    assert "with replacement" in (p_surpass_random.__doc__ or "")
    # with replacement: all n draws rank below r, each with probability 1 - r / size
    assert p_surpass_random(3, 10, 2) == pytest.approx(0.7 ** 2)
