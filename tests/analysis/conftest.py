"""Fixtures of the analysis tests: small hand-checkable evaluators and the real NB201 table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasaudit.spaces.base import SearchSpace
from nasaudit.truth.tabular import TabularBenchmark


class FunctionEvaluator:
    """Scores each arch with ``score(arch)``; counts ``evaluate`` calls to check batching."""

    def __init__(self, space: SearchSpace, score: Callable[[Any], float]) -> None:
        self.space = space
        self.score = score
        self.calls = 0

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        self.calls += 1
        return np.array([self.score(a) for a in archs], dtype=np.float64)


@pytest.fixture(scope="session")
def nb201_benchmark(nb201_csv: Path) -> TabularBenchmark:
    """The real NB201 table as a benchmark (skipped where the shared data is absent)."""
    return TabularBenchmark.from_file(nb201_csv)


@pytest.fixture
def make_evaluator() -> type[FunctionEvaluator]:
    """``make_evaluator(space, score)``: an evaluator scoring each arch with ``score(arch)``."""
    return FunctionEvaluator
