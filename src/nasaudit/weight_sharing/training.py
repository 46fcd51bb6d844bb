"""One seed of a weight-sharing training: the driver every method runs through (``base.WeightSharingMethod``,
steps 3-4 of its lifecycle). The seed's data split is drawn, the group's first method trains the supernet and
ranks the setup's architectures after the ranked epochs, and every method of the group derives its final
architecture from that one training (search-phase paper Sec. 3.1, 4.2, App. D.2).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasaudit.errors import ConfigError
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.subset import classes_space
from nasaudit.weight_sharing.base import WeightSharingMethod
from nasaudit.weight_sharing.setup import WSSetup


@dataclass
class WSOutcome:
    """What one seed of a training produced: the final architecture of each method, and the shared-weight
    scores of the ranked architectures after each ranked epoch."""

    finals: dict[str, str]
    rank_epochs: list[int] = field(default_factory=list)
    rank_scores: list[list[float]] = field(default_factory=list)
    seconds: float = 0.0


def search_space(setup: WSSetup) -> SearchSpace:
    """The space searched: the registered space without ``mask`` (NB101: at most ``max_vertices`` vertices),
    reduced to ``within``'s classes if given."""
    base = setup.base_space()
    within = setup.within_archs
    return classes_space(base, within) if within else base


def run_training(training: str, methods: Sequence[WeightSharingMethod], setup: WSSetup, seed: int,
                 work_dir: Path | None = None) -> WSOutcome:
    """Train one seed of ``training`` and derive the final architecture of each of ``methods`` (with their
    settings; module doc)."""
    chosen = list(methods)
    for method in chosen:
        if method.training != training:
            raise ConfigError(f"method {method.name!r} does not use the {training!r} training")
    if not chosen:
        raise ConfigError(f"no method derives from the {training!r} training")
    space = search_space(setup)
    started = time.perf_counter()
    splits: Any = setup.load_data(seed)  # image splits, or the text corpus of an RNN space
    trained = chosen[0].train(setup, space, splits, seed, work_dir)
    finals = {method.name: method.derive(trained, setup, space, splits, seed) for method in chosen}
    return WSOutcome(finals, trained.rank_epochs, trained.rank_scores, time.perf_counter() - started)
