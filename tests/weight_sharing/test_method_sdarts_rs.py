"""SDARTS-RS (``methods/sdarts.py``) in the fair comparison at tiny size: its own training, a final cell by alpha
inside the searched space, and DARTS's counted work (the perturbed weights still run every candidate)."""

from __future__ import annotations

from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.setup import WSSetup


def test_sdarts_rs_runs_in_the_comparison_and_costs_what_darts_costs(runs_in_comparison) -> None:
    runs_in_comparison("sdarts_rs")
    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=1)
    assert get_method("sdarts_rs").cost(setup) == get_method("darts_alpha").cost(setup)
