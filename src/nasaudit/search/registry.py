"""Query-based strategies registered by name (``get_strategy("evolution", population_size=20)``)."""

from __future__ import annotations

from typing import Any

from nasaudit.errors import ConfigError
from nasaudit.search.bananas import Bananas
from nasaudit.search.base import Strategy
from nasaudit.search.evolution import RegularizedEvolution
from nasaudit.search.local_search import LocalSearch
from nasaudit.search.random_search import RandomSearch

STRATEGIES: dict[str, type[Strategy]] = {
    "random": RandomSearch,
    "evolution": RegularizedEvolution,
    "local": LocalSearch,
    "bananas": Bananas,
}


def get_strategy(name: str, **params: Any) -> Strategy:
    """A new strategy ``name`` built with ``params`` (its constructor's keyword arguments)."""
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}; known: {', '.join(list_strategies())}")
    try:
        return STRATEGIES[name](**params)
    except TypeError as err:
        raise ConfigError(f"bad parameters for strategy {name!r}: {err}") from None


def list_strategies() -> list[str]:
    """Names of the registered strategies, sorted."""
    return sorted(STRATEGIES)
