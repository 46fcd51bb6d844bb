"""Fixed alpha + PT (``methods/darts_pt_fixed.py``) in the fair comparison at tiny size: its own training (alpha
uniform and frozen), the final cell by PT inside the searched space, and DARTS-PT's counted work without the alpha
steps."""

from __future__ import annotations

import pandas as pd
import pytest

from nasaudit.spaces import get_space
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.cost import FORWARD_BACKWARD, search_work
from nasaudit.weight_sharing.methods.darts_pt import DartsPT
from nasaudit.weight_sharing.setup import WSSetup


def test_darts_pt_fixed_runs_in_the_comparison_and_counts_no_alpha_steps(tiny_compare) -> None:
    folder = tiny_compare(["darts_pt_fixed"], {"darts_pt_fixed": {"tune_epochs": 1}}, epochs=2)
    summary = pd.read_csv(folder / "summary.csv").set_index("strategy")
    assert "PT with 1 tuning epoch(s) per decision; alpha fixed, no alpha steps" in summary.loc["darts_pt_fixed",
                                                                                                "cost"]
    assert pd.read_csv(folder / "ws_ranking.csv")["method"].tolist() == ["darts_pt_fixed"]
    finals = pd.read_csv(folder / "finals.csv")
    space = get_space("nb201")
    assert all(space.contains(space.parse(a)) for a in finals.loc[finals["strategy"] == "darts_pt_fixed", "arch"])
    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=2)
    pt, fixed = get_method("darts_pt", {"tune_epochs": 0}), get_method("darts_pt_fixed", {"tune_epochs": 0})
    assert isinstance(pt, DartsPT)
    work = search_work(pt, setup)
    alpha_steps = setup.epochs * FORWARD_BACKWARD * work.step * work.alpha_images
    assert pt.cost(setup) - fixed.cost(setup) == pytest.approx(alpha_steps, rel=1e-12)
