"""A cheap deterministic evaluator on NB201 for strategy tests: an additive score over edge ops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from nasaudit.spaces import NB201Space


class AdditiveEvaluator:
    """score = sum over edges of a fixed random weight of the chosen op (unique optimum)."""

    def __init__(self, space: NB201Space, seed: int = 0) -> None:
        self.space = space
        self.weights = np.random.default_rng(seed).normal(size=space.one_hot(space.sample(0)).size)
        self.calls = 0

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        self.calls += 1
        return np.array([self.space.one_hot(a) @ self.weights for a in archs], dtype=np.float64)


@pytest.fixture
def nb201_space() -> NB201Space:
    return NB201Space()


@pytest.fixture
def additive(nb201_space: NB201Space) -> AdditiveEvaluator:
    return AdditiveEvaluator(nb201_space)


@pytest.fixture
def make_additive() -> type[AdditiveEvaluator]:
    """The evaluator class, for tests that need it on another space."""
    return AdditiveEvaluator
