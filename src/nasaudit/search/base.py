"""The query-based strategy interface and its trajectory record (search-phase paper, Sec. 3.1).

A strategy spends a budget of evaluator queries and returns every queried architecture with its
score. It never spends budget on an architecture it has already evaluated: evaluators are treated as
deterministic, so a repeated query would only waste budget (this is the project's choice for all its
strategies; a proposal of a seen architecture is redrawn).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nasaudit.errors import ConfigError, SpaceError
from nasaudit.evaluators import Evaluator
from nasaudit.seeding import as_generator
from nasaudit.spaces.base import SearchSpace

#: rejection-sampling attempts per requested architecture before enumerating the unevaluated ones
_DRAWS_PER_ARCH = 200


@dataclass(frozen=True, eq=False)
class SearchResult:
    """One run: every queried architecture and its score, in query order (higher is better).

    The final architecture is the best queried one (first of equal scores), which is what every
    strategy here returns. An undefined score (NaN, e.g. a zero-cost proxy that fails on a cell) ranks
    below every defined one; a run with no defined score ends on its first query.
    """

    strategy: str
    seed: int
    archs: tuple[Any, ...]
    scores: np.ndarray

    @property
    def best_so_far(self) -> np.ndarray:
        """Best defined score after each query (NaN until the first defined one)."""
        return np.fmax.accumulate(self.scores)

    @property
    def final_index(self) -> int:
        defined = np.flatnonzero(~np.isnan(self.scores))
        return int(defined[np.argmax(self.scores[defined])]) if defined.size else 0

    @property
    def final_arch(self) -> Any:
        return self.archs[self.final_index]

    @property
    def final_score(self) -> float:
        return float(self.scores[self.final_index])

    def to_frame(self) -> pd.DataFrame:
        """Tidy trajectory: strategy, seed, query (1-based), arch string, score, best_so_far."""
        return pd.DataFrame({
            "strategy": self.strategy,
            "seed": self.seed,
            "query": np.arange(1, len(self.archs) + 1),
            "arch": [str(a) for a in self.archs],
            "score": self.scores,
            "best_so_far": self.best_so_far,
        })


class QueryLog:
    """The budgeted record of one run: evaluates only new architectures, remembers every score."""

    def __init__(self, evaluator: Evaluator, budget: int) -> None:
        self.evaluator = evaluator
        self.budget = budget
        self.archs: list[Any] = []
        self._scores: list[float] = []
        self._score_of: dict[Hashable, float] = {}

    @property
    def remaining(self) -> int:
        return self.budget - len(self.archs)

    @property
    def scores(self) -> np.ndarray:
        """Scores of ``archs``, in query order."""
        return np.asarray(self._scores, dtype=np.float64)

    def seen(self, arch: Any) -> bool:
        return arch in self._score_of

    def score(self, arch: Any) -> float:
        return self._score_of[arch]

    def query(self, archs: Sequence[Any]) -> np.ndarray:
        """Evaluate new, distinct architectures in one batch and record them (within the budget)."""
        fresh = list(dict.fromkeys(a for a in archs if a not in self._score_of))
        if len(fresh) != len(archs) or len(fresh) > self.remaining:
            raise RuntimeError("strategy bug: queries must be new, distinct and within the budget")
        if not fresh:
            return np.empty(0)
        scores = np.asarray(self.evaluator.evaluate(fresh), dtype=np.float64)
        self.archs.extend(fresh)
        self._scores.extend(scores.tolist())
        self._score_of.update(zip(fresh, scores.tolist(), strict=True))
        return scores

    def result(self, strategy: str, seed: int) -> SearchResult:
        return SearchResult(strategy, seed, tuple(self.archs), self.scores)


def sample_unseen(space: SearchSpace, log: QueryLog, n: int, rng: np.random.Generator,
                  exclude: Collection[Any] = ()) -> list[Any]:
    """``n`` distinct uniform samples neither evaluated in this run nor in ``exclude``.

    Rejection sampling; if that stalls because few architectures are left, the rest are drawn
    uniformly from an enumeration of the unevaluated ones.
    """
    chosen: dict[Any, None] = {}
    for _ in range(_DRAWS_PER_ARCH * n):
        if len(chosen) == n:
            return list(chosen)
        arch = space.sample(rng)
        if not log.seen(arch) and arch not in exclude:
            chosen[arch] = None
    if len(chosen) < n:
        left = [a for a in space.enumerate() if not (log.seen(a) or a in exclude or a in chosen)]
        if len(left) < n - len(chosen):
            raise SpaceError(f"only {len(left) + len(chosen)} unevaluated architectures left in "
                             f"{space.name!r}, {n} requested")
        chosen.update(dict.fromkeys(left[i] for i in rng.choice(len(left), n - len(chosen), replace=False)))
    return list(chosen)


def unseen_neighbours(space: SearchSpace, log: QueryLog, arch: Any) -> list[Any]:
    """The one-step changes of ``arch`` the run has not evaluated yet, in the space's order."""
    return [n for n in space.neighbours(arch) if not log.seen(n)]


class Strategy(ABC):
    """A query-based search strategy: ``run(space, evaluator, budget, seed) -> SearchResult``."""

    name: str

    def run(self, space: SearchSpace, evaluator: Evaluator, budget: int, seed: int) -> SearchResult:
        """Spend exactly ``budget`` queries; the same seed gives the same trajectory."""
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise ConfigError(f"budget must be a positive integer, got {budget!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ConfigError(f"seed must be a non-negative integer (it is recorded for reproducibility), got {seed!r}")
        if budget > space.size:
            raise ConfigError(f"budget {budget} exceeds the {space.size:,} architectures of {space.name!r}")
        log = QueryLog(evaluator, int(budget))
        self._search(space, log, as_generator(seed))
        return log.result(self.name, int(seed))

    @abstractmethod
    def _search(self, space: SearchSpace, log: QueryLog, rng: np.random.Generator) -> None:
        """Query until ``log.remaining`` is zero."""
