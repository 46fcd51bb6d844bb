"""Input checks shared by the metrics: paired, finite, 1-D score arrays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasaudit.errors import DataError


def as_scores(values: Sequence[float] | np.ndarray, name: str, min_size: int = 1) -> np.ndarray:
    """``values`` as a finite 1-D float64 array of at least ``min_size`` entries."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size < min_size:
        raise DataError(f"{name} needs at least {min_size} value(s), got {array.size}")
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} contains NaN or infinite values")
    return array


def as_pair(truth: Sequence[float] | np.ndarray, predicted: Sequence[float] | np.ndarray,
            min_size: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Two paired score arrays of equal length (ground truth first)."""
    a = as_scores(truth, "ground-truth scores", min_size)
    b = as_scores(predicted, "predicted scores", min_size)
    if a.shape != b.shape:
        raise DataError(f"paired scores differ in length: {a.size} ground-truth vs {b.size} predicted")
    return a, b


def top_indices(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` highest scores, best first (ties keep input order)."""
    if not 1 <= n <= scores.size:
        raise DataError(f"top-N needs 1 <= N <= {scores.size}, got N={n}")
    return np.argsort(-scores, kind="stable")[:n]
