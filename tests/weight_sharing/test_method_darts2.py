"""Second-order DARTS (``methods/darts2.py``) in the fair comparison at tiny size: its own training, a final cell by
alpha inside the searched space, and an alpha step counted as its validation pass plus three passes over the
training batch (DARTS eq. 7-8: the gradient at w and the two of the finite difference)."""

from __future__ import annotations

import pytest

from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.cost import FORWARD_BACKWARD, search_work
from nasaudit.weight_sharing.setup import WSSetup


def test_darts2_runs_in_the_comparison(runs_in_comparison) -> None:
    runs_in_comparison("darts2_alpha", training="darts2")


def test_an_alpha_step_of_second_order_counts_three_more_training_passes() -> None:
    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=1)
    first, second = search_work(get_method("darts_alpha"), setup), search_work(get_method("darts2_alpha"), setup)
    assert (first.alpha_train_images, second.alpha_train_images) == (0, 3 * second.n_train)
    assert second.step == first.step  # both run every candidate of every edge
    extra = second.epochs * FORWARD_BACKWARD * second.step * 3 * second.n_train
    assert get_method("darts2_alpha").cost(setup) == pytest.approx(get_method("darts_alpha").cost(setup) + extra)
