"""Every strategy spends its budget on distinct architectures, is reproducible, and searches sensibly."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.errors import ConfigError
from nasaudit.evaluators import Evaluator
from nasaudit.search import Bananas, SearchResult, get_strategy, list_strategies
from nasaudit.spaces import NB201Space

FAST = {"bananas": {"epochs": 20}}


def run(name: str, evaluator: Evaluator, budget: int, seed: int) -> SearchResult:
    return get_strategy(name, **FAST.get(name, {})).run(evaluator.space, evaluator, budget, seed)


@pytest.mark.parametrize("name", list_strategies())
def test_budget_distinct_queries_and_trajectory(name: str, additive: Evaluator) -> None:
    result = run(name, additive, 60, seed=3)
    assert result.strategy == name and result.seed == 3
    assert len(result.archs) == len(set(result.archs)) == result.scores.size == 60
    assert np.array_equal(result.scores, additive.evaluate(list(result.archs)))
    assert np.array_equal(result.best_so_far, np.maximum.accumulate(result.scores))
    assert result.final_score == result.scores.max()
    assert result.final_arch == result.archs[int(np.argmax(result.scores))]
    frame = result.to_frame()
    assert list(frame.columns) == ["strategy", "seed", "query", "arch", "score", "best_so_far"]
    assert frame["query"].tolist() == list(range(1, 61))


@pytest.mark.parametrize("name", list_strategies())
def test_same_seed_same_trajectory(name: str, additive: Evaluator) -> None:
    first, again, other = (run(name, additive, 40, seed) for seed in (7, 7, 8))
    assert first.archs == again.archs
    assert np.array_equal(first.scores, again.scores)
    assert first.archs != other.archs


@pytest.mark.parametrize("name", [n for n in list_strategies() if n != "random"])
def test_guided_strategies_beat_random_on_an_additive_objective(name: str, additive: Evaluator) -> None:
    finals = {n: np.mean([run(n, additive, 60, s).final_score for s in range(6)]) for n in ("random", name)}
    assert finals[name] > finals["random"]


@pytest.mark.parametrize("name", list_strategies())
def test_budget_equal_to_a_small_space_visits_all_of_it(name: str, make_additive) -> None:  # type: ignore[no-untyped-def]
    space = NB201Space().restrict(["none", "skip_connect"])  # 64 architectures
    evaluator = make_additive(space, seed=1)
    result = run(name, evaluator, space.size, seed=0)
    assert set(result.archs) == set(space.enumerate())


def test_local_search_reaches_the_additive_optimum(additive: Evaluator) -> None:
    best = max(additive.space.enumerate(), key=lambda a: additive.evaluate([a])[0])
    assert run("local", additive, 150, seed=0).final_arch == best


def test_random_search_queries_in_one_batch(additive: Evaluator) -> None:
    run("random", additive, 50, seed=0)
    assert additive.calls == 1


def test_bad_configuration_raises_config_error(additive: Evaluator) -> None:
    from nasaudit.search.registry import STRATEGIES

    shipped = [name for name in list_strategies() if STRATEGIES.origin(name) is None]  # plugins loaded by other tests
    assert shipped == ["bananas", "evolution", "local", "random", "reinforce"]
    with pytest.raises(ConfigError, match="unknown strategy"):
        get_strategy("reinforcement")
    with pytest.raises(ConfigError, match="bad parameters"):
        get_strategy("random", population_size=3)
    with pytest.raises(ConfigError, match="tournament_size"):
        get_strategy("evolution", population_size=3, tournament_size=5)
    with pytest.raises(ConfigError, match="acquisition"):
        Bananas(acquisition="ei")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="budget"):
        get_strategy("random").run(additive.space, additive, 0, 0)
    with pytest.raises(ConfigError, match="seed"):
        get_strategy("random").run(additive.space, additive, 5, np.random.default_rng(0))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="exceeds"):
        get_strategy("random").run(additive.space, additive, 20_000, 0)


def test_bananas_ucb_and_onehot_variant(additive: Evaluator) -> None:
    strategy = Bananas(acquisition="ucb", encoding="onehot", epochs=20)
    result = strategy.run(additive.space, additive, 40, seed=1)
    assert len(set(result.archs)) == 40
