"""Query-based strategies registered by name (``get_strategy("evolution", population_size=20)``)."""

from __future__ import annotations

from typing import Any

from nasaudit.errors import ConfigError
from nasaudit.registry import Registry
from nasaudit.search.bananas import Bananas
from nasaudit.search.base import Strategy
from nasaudit.search.controller import ReinforceSearch
from nasaudit.search.evolution import RegularizedEvolution
from nasaudit.search.local_search import LocalSearch
from nasaudit.search.random_search import RandomSearch


def strategy_contract(name: str, entry: object) -> str | None:
    """Why ``entry`` cannot be the strategy ``name`` (a class with ``run(space, evaluator, budget, seed)`` whose
    ``name`` is its registered name: a comparison keys its runs by it), or None."""
    if not isinstance(entry, type):
        return f"a strategy is registered as its class, got {type(entry).__name__}"
    if not callable(getattr(entry, "run", None)):
        return f"{entry.__qualname__} has no run(space, evaluator, budget, seed) method"
    if getattr(entry, "name", None) != name:
        return f"{entry.__qualname__}.name is {getattr(entry, 'name', None)!r}, not its registered name {name!r}"
    return None


STRATEGIES: Registry[type[Strategy]] = Registry("strategy", check=strategy_contract)
STRATEGIES.add("random", RandomSearch, "uniform random sampling without replacement")
STRATEGIES.add("evolution", RegularizedEvolution, "regularised (aging) evolution, Real et al. 2019")
STRATEGIES.add("local", LocalSearch, "local search over one-op neighbours, White et al. 2021")
STRATEGIES.add("bananas", Bananas, "BANANAS: path-encoded neural ensemble predictor, White et al. 2021")
STRATEGIES.add("reinforce", ReinforceSearch, "ENAS controller by REINFORCE on the scores (search without WS), "
               "Pham et al. 2018")


def get_strategy(name: str, **params: Any) -> Strategy:
    """A new strategy ``name`` built with ``params`` (its constructor's keyword arguments)."""
    cls = STRATEGIES.get(name)
    try:
        return cls(**params)
    except TypeError as err:
        raise ConfigError(f"bad parameters for strategy {name!r}: {err}") from None


def list_strategies() -> list[str]:
    """Names of the registered strategies, sorted."""
    from nasaudit.plugins import load_installed

    load_installed()  # installed plugins' names too (loaded once per process)
    return STRATEGIES.names()
