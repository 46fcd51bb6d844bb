"""Regularised (aging) evolution, Real et al. (2019), as compared in the search-phase paper's protocol."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from nasaudit.errors import ConfigError
from nasaudit.search.base import QueryLog, Strategy, sample_unseen, unseen_neighbours
from nasaudit.spaces.base import SearchSpace


class RegularizedEvolution(Strategy):
    """Tournament selection plus aging: the oldest member dies each step (Real et al. 2019, Alg. 1).

    Each step draws ``tournament_size`` members uniformly with replacement; the best is the parent.
    A child is a uniformly random unevaluated neighbour of the parent (one op changed); if every
    neighbour was already evaluated, a fresh random architecture is drawn instead.
    """

    name = "evolution"

    def __init__(self, population_size: int = 10, tournament_size: int = 3) -> None:
        if not 1 <= tournament_size <= population_size:
            raise ConfigError(f"evolution needs 1 <= tournament_size <= population_size, "
                              f"got {tournament_size} and {population_size}")
        self.population_size = population_size
        self.tournament_size = tournament_size

    def _search(self, space: SearchSpace, log: QueryLog, rng: np.random.Generator) -> None:
        founders = sample_unseen(space, log, min(self.population_size, log.remaining), rng)
        population: deque[tuple[Any, float]] = deque(zip(founders, log.query(founders).tolist(), strict=True))
        while log.remaining:
            picks = rng.integers(len(population), size=self.tournament_size)  # with replacement, as Alg. 1
            parent = max((population[i] for i in picks), key=lambda member: member[1])[0]
            options = unseen_neighbours(space, log, parent)
            child = options[int(rng.integers(len(options)))] if options else sample_unseen(space, log, 1, rng)[0]
            population.append((child, float(log.query([child])[0])))
            population.popleft()
