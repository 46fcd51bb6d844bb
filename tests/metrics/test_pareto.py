"""Pareto front and hypervolume on tiny cases computed by hand (redundancy paper App. G)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasaudit.errors import DataError
from nasaudit.metrics import hypervolume, non_dominated

# (accuracy: max, params: min): (90, 5) and (80, 1) trade off; (85, 6) is dominated by (90, 5); (80, 2) by (80, 1)
POINTS = [[90.0, 5.0], [85.0, 6.0], [80.0, 1.0], [80.0, 2.0], [70.0, 0.5]]
DIRECTIONS = ["max", "min"]


def test_front_of_a_hand_example() -> None:
    assert non_dominated(POINTS, DIRECTIONS).tolist() == [True, False, True, False, True]
    # both minimised: the cheapest point dominates the others in the second column only when no worse in the first
    assert non_dominated([[1, 1], [2, 2], [1, 2], [2, 1]], ["min", "min"]).tolist() == [True, False, False, False]


def test_equal_points_do_not_dominate_each_other() -> None:
    assert non_dominated([[1.0, 1.0], [1.0, 1.0], [0.0, 2.0]], ["min", "min"]).tolist() == [True, True, True]


def test_blocks_agree_with_the_pairwise_definition() -> None:
    values = np.random.default_rng(0).integers(0, 8, size=(700, 3)).astype(float)  # many ties and duplicates
    signed = values * [1.0, -1.0, 1.0]  # the middle objective is maximised
    expected = [not any(np.all(q <= p) and np.any(q < p) for q in signed) for p in signed]
    assert non_dominated(values, ["min", "max", "min"]).tolist() == expected
    assert 1 <= sum(expected) < len(expected)


def test_2d_hypervolume_by_hand() -> None:
    # reference (accuracy 60, params 10): rectangles [90-60]x[10-5] = 150, then (80, 1) adds [80-60]x[5-1] = 80,
    # then (70, 0.5) adds [70-60]x[1-0.5] = 5: 235; the dominated points add nothing
    assert hypervolume(POINTS, [60.0, 10.0], DIRECTIONS) == pytest.approx(235.0)
    assert hypervolume([[90.0, 5.0], [80.0, 1.0], [70.0, 0.5]], [60.0, 10.0], DIRECTIONS) == pytest.approx(235.0)
    # points outside the reference box count for nothing
    assert hypervolume(POINTS, [85.0, 4.0], DIRECTIONS) == pytest.approx(0.0)
    assert hypervolume(POINTS, [75.0, 10.0], DIRECTIONS) == pytest.approx(15 * 5 + 5 * 4)
    assert hypervolume([[1.0]], [3.0], ["min"]) == 2.0


def _grid_volume(points: np.ndarray, ref: np.ndarray) -> float:
    """The union volume of the boxes [p, ref] (minimisation) by the grid of every coordinate: the oracle."""
    axes = [np.unique(np.append(points[:, k], ref[k])) for k in range(points.shape[1])]
    volume = 0.0
    for cell in itertools.product(*(range(len(a) - 1) for a in axes)):
        low = np.array([axes[k][i] for k, i in enumerate(cell)])
        if np.any(np.all(points <= low, axis=1)):
            volume += float(np.prod([axes[k][i + 1] - axes[k][i] for k, i in enumerate(cell)]))
    return volume


def test_3d_hypervolume_by_hand_and_against_the_grid() -> None:
    # two unit-apart boxes to ref (2, 2, 2): (0, 1, 1) -> 2*1*1 = 2, (1, 0, 1) -> 1*2*1 = 2, overlap [1,2]x[1,2]x[1,2] = 1
    assert hypervolume([[0, 1, 1], [1, 0, 1]], [2, 2, 2], ["min"] * 3) == pytest.approx(3.0)
    rng = np.random.default_rng(1)
    for d in (3, 4):
        points = rng.integers(0, 5, size=(9, d)).astype(float)
        ref = np.full(d, 5.0)
        assert hypervolume(points, ref, ["min"] * d) == pytest.approx(_grid_volume(points, ref))
        flipped = hypervolume(-points, -ref, ["max"] * d)
        assert flipped == pytest.approx(_grid_volume(points, ref))


@pytest.mark.parametrize(("values", "reference", "directions", "message"), [
    ([[1.0, float("nan")]], [2.0, 2.0], ["min", "min"], "NaN"),
    ([1.0, 2.0], [2.0, 2.0], ["min", "min"], "2-D array"),
    ([[1.0, 2.0]], [2.0, 2.0], ["min"], "1 direction"),
    ([[1.0, 2.0]], [2.0, 2.0], ["min", "up"], "'max' or 'min'"),
    ([[1.0, 2.0]], [2.0], ["min", "min"], "reference point has 1"),
])
def test_refusals_are_one_line(values: object, reference: object, directions: list[str], message: str) -> None:
    with pytest.raises(DataError, match=message) as caught:
        hypervolume(values, reference, directions)  # type: ignore[arg-type]
    assert "\n" not in str(caught.value)
