"""BANANAS-style Bayesian optimisation (White et al. 2021): ensemble predictor + encoding + acquisition."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypedDict
from weakref import WeakKeyDictionary

import numpy as np

from nasaudit.errors import ConfigError
from nasaudit.predictors import EnsemblePredictor
from nasaudit.search.base import QueryLog, Strategy, sample_unseen, unseen_neighbours
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.encodings import ENCODINGS, Encoding, get_encoding

Acquisition = Literal["its", "ucb"]


class PredictorParams(TypedDict):
    """The ``EnsemblePredictor`` options a ``Bananas`` strategy fits with each round."""

    n_members: int
    hidden_sizes: tuple[int, ...]
    epochs: int
    learning_rate: float


class Bananas(Strategy):
    """Each round: fit an ensemble on (encoding, score) of all queried architectures, propose unevaluated
    one-op mutations of the ``n_parents`` best ones, and query the ``batch_size`` best by acquisition.

    Acquisition ``its`` is independent Thompson sampling (a normal draw per candidate from the ensemble's
    mean and std, BANANAS Sec. 4); ``ucb`` is mean + ``exploration`` x std. The encoding (``path`` by
    default) caches per architecture across runs on the same space.
    """

    name = "bananas"

    def __init__(self, n_init: int = 10, batch_size: int = 10, n_candidates: int = 100, n_parents: int = 5,
                 encoding: str = "path", acquisition: Acquisition = "its", exploration: float = 0.5,
                 n_members: int = 5, hidden_sizes: Sequence[int] = (20, 20), epochs: int = 50,
                 learning_rate: float = 0.02) -> None:
        if n_init < 2 or batch_size < 1 or n_candidates < batch_size or n_parents < 1:
            raise ConfigError("bananas needs n_init >= 2, batch_size >= 1, n_candidates >= batch_size and "
                              f"n_parents >= 1; got {n_init}, {batch_size}, {n_candidates}, {n_parents}")
        if acquisition not in ("its", "ucb"):
            raise ConfigError(f"bananas acquisition must be 'its' or 'ucb', got {acquisition!r}")
        if encoding not in ENCODINGS:
            raise ConfigError(f"unknown encoding {encoding!r}; known: {sorted(ENCODINGS)}")
        self.n_init = n_init
        self.batch_size = batch_size
        self.n_candidates = n_candidates
        self.n_parents = n_parents
        self.encoding = encoding
        self.acquisition = acquisition
        self.exploration = exploration
        self.predictor_params: PredictorParams = {"n_members": n_members, "hidden_sizes": tuple(hidden_sizes),
                                 "epochs": epochs, "learning_rate": learning_rate}
        self._encoders: WeakKeyDictionary[SearchSpace, Encoding] = WeakKeyDictionary()

    def _search(self, space: SearchSpace, log: QueryLog, rng: np.random.Generator) -> None:
        encoder = self._encoders.get(space)
        if encoder is None:
            encoder = self._encoders[space] = get_encoding(self.encoding, space)
        log.query(sample_unseen(space, log, min(self.n_init, log.remaining), rng))
        while log.remaining:
            count = min(self.batch_size, log.remaining)
            model = EnsemblePredictor(**self.predictor_params, seed=int(rng.integers(2**32)))
            model.fit(encoder.encode(log.archs), log.scores)
            candidates = self._candidates(space, log, rng, count)
            members = model.predict_members(encoder.encode(candidates))
            mean, std = members.mean(axis=0), members.std(axis=0)
            if self.acquisition == "its":
                value = mean + std * rng.standard_normal(mean.size)
            else:
                value = mean + self.exploration * std
            chosen = np.argsort(-value, kind="stable")[:count]
            log.query([candidates[i] for i in chosen])

    def _candidates(self, space: SearchSpace, log: QueryLog, rng: np.random.Generator, count: int) -> list[Any]:
        """Unevaluated one-op mutations of the best archs; topped up with random ones if too few."""
        parents = [log.archs[i] for i in np.argsort(-log.scores, kind="stable")[:self.n_parents]]
        pool = list(dict.fromkeys(n for p in parents for n in unseen_neighbours(space, log, p)))
        if len(pool) > self.n_candidates:
            pool = [pool[i] for i in np.sort(rng.choice(len(pool), self.n_candidates, replace=False))]
        if len(pool) < count:
            pool += sample_unseen(space, log, count - len(pool), rng, exclude=set(pool))
        return pool
