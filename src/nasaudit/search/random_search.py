"""Random search: the baseline every strategy must beat (search-phase paper, Sec. 3.1)."""

from __future__ import annotations

import numpy as np

from nasaudit.search.base import QueryLog, Strategy, sample_unseen
from nasaudit.spaces.base import SearchSpace


class RandomSearch(Strategy):
    """Query ``budget`` distinct architectures drawn uniformly from the space (search-phase paper Sec. 3.1)."""

    name = "random"

    def _search(self, space: SearchSpace, log: QueryLog, rng: np.random.Generator) -> None:
        log.query(sample_unseen(space, log, log.remaining, rng))
