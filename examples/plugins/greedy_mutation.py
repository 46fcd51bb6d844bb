"""A query-based strategy as a nasaudit plugin: greedy mutation, a (1+1) evolution strategy.

Load it with ``plugins: [greedy_mutation.py]`` in a spec (``greedy_mutation.yaml`` beside this file) or with
``nasaudit compare --plugin examples/plugins/greedy_mutation.py --strategies random,greedy_mutation ...``
(``docs/plugins.md``). Importing this module registers the strategy ``greedy_mutation``.

The search: draw ``n_init`` random architectures, then repeatedly mutate the best one found so far (the
incumbent) by one random operation change to an architecture not queried yet; when every one-op neighbour of
the incumbent has been queried it is a local optimum, and a fresh random architecture is queried instead. This
is the (1+1) mutation scheme that regularised evolution (Real et al. 2019) runs with a population of one; it is
written for this example, not taken from a published release.
"""

from __future__ import annotations

import numpy as np

from nasaudit.search.base import QueryLog, Strategy, sample_unseen, unseen_neighbours
from nasaudit.search.registry import STRATEGIES
from nasaudit.spaces.base import SearchSpace


class GreedyMutation(Strategy):
    """Mutate the incumbent by one op at a time; restart at a random architecture at a local optimum."""

    name = "greedy_mutation"

    def __init__(self, n_init: int = 5) -> None:
        self.n_init = n_init

    def _search(self, space: SearchSpace, log: QueryLog, rng: np.random.Generator) -> None:
        start = sample_unseen(space, log, min(self.n_init, log.remaining), rng)
        log.query(start)
        while log.remaining:
            incumbent = log.archs[int(np.argmax(log.scores))]
            options = unseen_neighbours(space, log, incumbent)
            if options:
                log.query([options[int(rng.integers(len(options)))]])
            else:  # a local optimum: every one-op change of the incumbent is known
                log.query(sample_unseen(space, log, 1, rng))


STRATEGIES.add("greedy_mutation", GreedyMutation, "greedy mutation: (1+1) evolution, one op change at a time "
                                                  "(plugin example)")
