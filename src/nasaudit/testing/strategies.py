"""``StrategyContract``: what every query-based strategy keeps (``nasaudit.search.base.Strategy``).

A run spends exactly its budget on distinct architectures of the space it was given (the project's rule: a
repeated query only wastes budget), records every query with the evaluator's score, is reproducible from its
seed (on the same instance too: no state leaks from one run into the next), can differ between seeds, visits
a whole space whose size is the budget, stays inside a reduced ``SubsetSpace``, and refuses a bad budget or
seed with a ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from nasaudit.errors import ConfigError
from nasaudit.search.base import SearchResult, Strategy
from nasaudit.spaces.base import SearchSpace


class AdditiveEvaluator:
    """A cheap deterministic evaluator on any space: a fixed random weight per one-hot entry, summed (the optimum
    is unique). Counts the architectures it scored, so a test sees queries that bypass the budget."""

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        self.space = space
        self.weights = np.random.default_rng(seed).normal(size=space.one_hot(space.sample(0)).size)
        self.scored = 0

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        self.scored += len(archs)
        return np.array([self.space.one_hot(a) @ self.weights for a in archs], dtype=np.float64)


class StrategyContract:
    """Subclass and give the ``strategy`` fixture (a ``Strategy`` instance) to run the strategy contract.

    ``space`` (default: NAS-Bench-201, 15,625 cells), ``budget`` (default 30) and ``small_space`` (a space
    whose every member the strategy visits when the budget equals its size; default NB201 on two ops, 64
    cells) may be overridden for a strategy defined on other spaces.
    """

    @pytest.fixture
    def strategy(self) -> Strategy:
        """The strategy under test (a new instance)."""
        raise NotImplementedError("a StrategyContract subclass gives the `strategy` fixture")

    @pytest.fixture
    def space(self) -> SearchSpace:
        from nasaudit.spaces import get_space

        return get_space("nb201")

    @pytest.fixture
    def small_space(self, space: SearchSpace) -> SearchSpace:
        return space.restrict(list(space.ops[:2]))

    @pytest.fixture
    def budget(self) -> int:
        return 30

    def test_budget_distinct_members_and_trajectory(self, strategy: Strategy, space: SearchSpace,
                                                    budget: int) -> None:
        assert isinstance(strategy, Strategy) and isinstance(strategy.name, str) and strategy.name
        evaluator = AdditiveEvaluator(space)
        result = strategy.run(space, evaluator, budget, seed=3)
        assert isinstance(result, SearchResult)
        assert result.strategy == strategy.name and result.seed == 3
        assert len(result.archs) == len(set(result.archs)) == result.scores.size == budget
        assert evaluator.scored == budget  # no query outside the budget
        assert all(space.contains(a) for a in result.archs)
        assert result.scores.dtype == np.float64
        assert np.array_equal(result.scores, evaluator.evaluate(list(result.archs)))
        assert result.final_score == result.scores.max()
        frame = result.to_frame()
        assert list(frame.columns) == ["strategy", "seed", "query", "arch", "score", "best_so_far"]
        assert frame["query"].tolist() == list(range(1, budget + 1))

    def test_same_seed_same_trajectory_and_seeds_differ(self, strategy: Strategy, space: SearchSpace,
                                                        budget: int) -> None:
        evaluator = AdditiveEvaluator(space)
        first, again, other = (strategy.run(space, evaluator, budget, seed) for seed in (7, 7, 8))
        assert first.archs == again.archs and np.array_equal(first.scores, again.scores)
        assert first.archs != other.archs

    def test_budget_equal_to_a_small_space_visits_all_of_it(self, strategy: Strategy,
                                                            small_space: SearchSpace) -> None:
        result = strategy.run(small_space, AdditiveEvaluator(small_space, seed=1), small_space.size, seed=0)
        assert set(result.archs) == set(small_space.enumerate())

    def test_a_reduced_space_is_searched_inside(self, strategy: Strategy, space: SearchSpace) -> None:
        from nasaudit.spaces.subset import SubsetSpace

        reduced = SubsetSpace(space, dict.fromkeys(space.sample_many(60, seed=11)))
        evaluator = AdditiveEvaluator(reduced, seed=2)
        result = strategy.run(reduced, evaluator, min(20, reduced.size), seed=0)
        assert all(reduced.contains(a) for a in result.archs)
        whole = strategy.run(reduced, evaluator, reduced.size, seed=1)
        assert set(whole.archs) == set(reduced.members)

    def test_bad_budget_or_seed_is_a_config_error(self, strategy: Strategy, space: SearchSpace) -> None:
        evaluator = AdditiveEvaluator(space)
        for budget in (0, -1, 2.5, True):
            with pytest.raises(ConfigError, match="budget"):
                strategy.run(space, evaluator, budget, 0)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="seed"):
            strategy.run(space, evaluator, 5, -1)
        with pytest.raises(ConfigError, match="exceeds"):
            strategy.run(space, evaluator, space.size + 1, 0)
        assert evaluator.scored == 0
