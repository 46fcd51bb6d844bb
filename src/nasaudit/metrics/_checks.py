"""Input checks shared by the metrics: paired, finite, 1-D score arrays and integer counts.

Every refusal is a one-line ``DataError`` (hardening issue R2 2/7, item 9), never a bare ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nasaudit.errors import DataError


def as_scores(values: Sequence[float] | np.ndarray, name: str, min_size: int = 1) -> np.ndarray:
    """``values`` as a finite 1-D float64 array of at least ``min_size`` entries."""
    array = as_floats(values, name)
    if array.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size < min_size:
        raise DataError(f"{name} needs at least {min_size} value(s), got {array.size}")
    return array


def as_floats(values: object, name: str) -> np.ndarray:
    """``values`` (a number or an array-like of any shape) as a finite float64 array; text is refused."""
    try:
        raw = np.asarray(values)
        if raw.dtype.kind in "USVMm":  # text, bytes, records, dates: not scores even when they look numeric
            raise TypeError(raw.dtype)
        array = raw.astype(np.float64)
    except (TypeError, ValueError, OverflowError):
        raise DataError(f"{name} must be numbers, got {_preview(values)}") from None
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} contains NaN or infinite values")
    return array


def as_count(value: object, name: str, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int in ``low..high`` (a bool or a fractional number is refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DataError(f"{name} must be an integer, got {_preview(value)}")
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f"..{high}"
        raise DataError(f"{name} must lie in {low}{upper}, got {value}")
    return int(value)


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
    count = as_count(n, "top-N", 1, scores.size)
    return np.argsort(-scores, kind="stable")[:count]
