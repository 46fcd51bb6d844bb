"""SearchResult: the final architecture and the best-so-far curve when some scores are undefined (NaN)."""

import numpy as np

from nasaudit.search.base import SearchResult


def result(scores: list[float]) -> SearchResult:
    return SearchResult("random", 0, tuple(f"a{i}" for i in range(len(scores))), np.array(scores))


def test_undefined_scores_rank_below_every_defined_one() -> None:
    run = result([np.nan, 1.0, -np.inf, 1.0])
    assert run.final_index == 1 and run.final_arch == "a1" and run.final_score == 1.0
    np.testing.assert_array_equal(run.best_so_far, [np.nan, 1.0, 1.0, 1.0])


def test_a_run_without_a_defined_score_ends_on_its_first_query() -> None:
    run = result([np.nan, np.nan])
    assert run.final_index == 0 and np.isnan(run.final_score)
