"""Pareto tools for several objectives (redundancy paper App. G, Fig. 32: accuracy against parameters or FLOPs).

``non_dominated`` marks the Pareto front of points given with a direction per objective (``max`` or ``min``);
``hypervolume`` is the exact volume those points dominate up to a reference point: a sorted sweep in 2-D, and in
more dimensions the exact recursive slicing of While et al. ("A faster algorithm for calculating hypervolume",
IEEE TEC 2006, HSO), whose cost grows as ``n^(d-1)``: it is bounded to ``MAX_SLICED_POINTS`` points. Every refusal
is a one-line ``DataError``. No authors' code is followed: App. G plots the fronts and computes no hypervolume.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from nasaudit.errors import DataError
from nasaudit.metrics._checks import as_floats

Direction = Literal["max", "min"]

#: points non_dominated accepts (its work is about front size x n; a front as large as n costs n^2)
MAX_FRONT_POINTS = 200_000
#: points hypervolume accepts in 3 or more dimensions (the slicing algorithm costs about n^(d-1) log n)
MAX_SLICED_POINTS = 2_000


def as_minimised(values: Sequence[Sequence[float]] | np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """``values`` (n points x d objectives) as a finite float64 array with every ``max`` objective negated, so that
    smaller is better in every column."""
    array = as_floats(values, "objective values")
    if array.ndim != 2 or array.shape[1] < 1:
        raise DataError(f"objective values must be a 2-D array (points x objectives), got shape {array.shape}")
    if len(directions) != array.shape[1]:
        raise DataError(f"{len(directions)} direction(s) given for {array.shape[1]} objective(s)")
    bad = [d for d in directions if d not in ("max", "min")]
    if bad:
        raise DataError(f"an objective's direction is 'max' or 'min', got {bad[0]!r}")
    signs = np.array([-1.0 if d == "max" else 1.0 for d in directions])
    return array * signs


def non_dominated(values: Sequence[Sequence[float]] | np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Boolean mask of the points no other point dominates (at least as good in every objective, better in one).

    Equal points do not dominate each other, so duplicates on the front are all marked. Points are visited in
    lexicographic order: the first one left is on the front (whatever dominates it would sort before it), and one
    vectorised pass drops every point it dominates, so the cost is about (front size) x n, at most
    ``MAX_FRONT_POINTS`` points.
    """
    points = as_minimised(values, directions)
    n = points.shape[0]
    if n > MAX_FRONT_POINTS:
        raise DataError(f"a front of at most {MAX_FRONT_POINTS} points is computed here, got {n}")
    mask = np.zeros(n, dtype=bool)
    left = np.lexsort(points.T[::-1])  # first objective first, ties by the next
    while left.size:
        head = points[left[0]]
        mask[left[0]] = True
        rest = points[left[1:]]
        dominated = np.all(head <= rest, axis=1) & np.any(head < rest, axis=1)
        left = left[1:][~dominated]
    return mask


def hypervolume(values: Sequence[Sequence[float]] | np.ndarray, reference: Sequence[float],
                directions: Sequence[str]) -> float:
    """The exact volume dominated by the points and bounded by ``reference`` (a point worse than every one counted).

    Points not strictly better than ``reference`` in every objective add nothing and are left out; no point left
    gives 0. Two objectives: a sort and a sweep (``n log n``); three or more: recursive slicing (module doc), at
    most ``MAX_SLICED_POINTS`` points after dominated ones are dropped.
    """
    points = as_minimised(values, directions)
    raw = np.atleast_1d(as_floats(reference, "reference point"))
    if raw.shape != (points.shape[1],):
        raise DataError(f"the reference point has {raw.size} coordinate(s), the points {points.shape[1]}")
    ref = as_minimised(raw[None, :], directions)[0]
    inside = points[np.all(points < ref, axis=1)]
    if inside.shape[0] == 0:
        return 0.0
    if inside.shape[1] == 1:
        return float(ref[0] - inside[:, 0].min())
    if inside.shape[1] == 2:
        return _sweep_2d(inside, ref)
    front = inside[non_dominated(inside, ["min"] * inside.shape[1])]
    front = np.unique(front, axis=0)
    if front.shape[0] > MAX_SLICED_POINTS:
        raise DataError(f"hypervolume in {front.shape[1]} dimensions is computed for at most {MAX_SLICED_POINTS} "
                        f"non-dominated points, got {front.shape[0]}")
    return _sliced(front, ref)


def _sweep_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """2-D hypervolume (minimisation, every point inside the reference box): sort by the first objective, then
    add the rectangle of each point that improves the best second objective seen so far."""
    order = np.lexsort((points[:, 1], points[:, 0]))
    x, y = points[order, 0], points[order, 1]
    best_y = np.minimum.accumulate(y)
    improves = np.concatenate(([True], best_y[1:] < best_y[:-1]))
    xs, ys = x[improves], best_y[improves]
    widths = np.diff(np.append(xs, ref[0]))
    return float(np.sum(widths * (ref[1] - ys)))


def _sliced(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume by slicing along the last objective (minimisation, points inside the box)."""
    if points.shape[1] == 2:
        return _sweep_2d(points, ref)
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    cuts = np.append(points[:, -1], ref[-1])
    volume = 0.0
    for i in range(points.shape[0]):
        depth = cuts[i + 1] - cuts[i]
        if depth > 0:  # the slab [cut_i, cut_i+1) is dominated by the projection of the first i+1 points
            head = points[:i + 1, :-1]
            volume += depth * _sliced(head[non_dominated(head, ["min"] * head.shape[1])], ref[:-1])
    return volume
