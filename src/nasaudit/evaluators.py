"""The evaluator seam (DESIGN.md): strategies and analyses only ever call ``evaluate``.

A tabular benchmark, a surrogate model, a weight-sharing supernet and a from-scratch trainer all
implement this protocol, which is how "with" and "without weight sharing" are compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nasaudit.spaces.base import SearchSpace


@runtime_checkable
class Evaluator(Protocol):
    """Scores architectures of ``space``; higher is better (e.g. accuracy in %)."""

    @property
    def space(self) -> SearchSpace:
        """The space whose architectures this evaluator scores."""
        ...

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """One float score per architecture, in order, as a float64 array (batched)."""
        ...
