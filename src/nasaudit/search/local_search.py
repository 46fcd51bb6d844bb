"""Local search (hill climbing with random restarts), White et al. (2021) "Local search is state of the art"."""

from __future__ import annotations

import numpy as np

from nasaudit.errors import ConfigError
from nasaudit.search.base import QueryLog, Strategy, sample_unseen, unseen_neighbours
from nasaudit.spaces.base import SearchSpace


class LocalSearch(Strategy):
    """Best-improvement hill climbing over one-op changes, restarting at local optima.

    Starts from the best of ``n_init`` random architectures; evaluates the unevaluated neighbours of the
    current architecture in random order; moves to the best neighbour if it beats the current one,
    otherwise restarts from a new random architecture.
    """

    name = "local"

    def __init__(self, n_init: int = 10) -> None:
        if n_init < 1:
            raise ConfigError(f"local search needs n_init >= 1, got {n_init}")
        self.n_init = n_init

    def _search(self, space: SearchSpace, log: QueryLog, rng: np.random.Generator) -> None:
        start = sample_unseen(space, log, min(self.n_init, log.remaining), rng)
        current = start[int(np.argmax(log.query(start)))]
        while log.remaining:
            options = unseen_neighbours(space, log, current)
            order = rng.permutation(len(options))[:log.remaining]
            log.query([options[i] for i in order])
            scored = [n for n in space.neighbours(current) if log.seen(n)]
            best = max(scored, key=log.score, default=None)
            if best is not None and log.score(best) > log.score(current):
                current = best
            elif log.remaining:
                current = sample_unseen(space, log, 1, rng)[0]
                log.query([current])
