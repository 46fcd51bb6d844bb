"""DARTS + PT-Mag (``methods/darts_pt_mag.py``) in the fair comparison at tiny size: it shares DARTS's training
(one job per seed for ``darts_alpha`` and it), and its counted work is DARTS-PT's without the validation pass of
each candidate of an operation decision."""

from __future__ import annotations

import pandas as pd
import pytest

from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.cost import search_work
from nasaudit.weight_sharing.methods.darts_pt import DartsPT
from nasaudit.weight_sharing.setup import WSSetup


def test_darts_pt_mag_shares_darts_training_and_skips_the_candidate_passes(tiny_compare) -> None:
    folder = tiny_compare(["darts_alpha", "darts_pt_mag"], {"darts_pt_mag": {"tune_epochs": 0}})
    summary = pd.read_csv(folder / "summary.csv").set_index("strategy")
    assert summary.index.tolist() == ["random", "darts_alpha", "darts_pt_mag"]
    assert "+ PT-Mag with 0 tuning epoch(s) per decision" in summary.loc["darts_pt_mag", "cost"]
    assert pd.read_csv(folder / "ws_ranking.csv")["method"].tolist() == ["darts"]  # one search for both
    assert len(pd.read_csv(folder / "timing.csv")) == 1
    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=1)
    pt, mag = get_method("darts_pt", {"tune_epochs": 0}), get_method("darts_pt_mag", {"tune_epochs": 0})
    assert isinstance(pt, DartsPT)
    work = search_work(pt, setup)
    # NB201 on 3 ops: PT removes each of the 3 candidates of each of the 6 edges once; PT-Mag never
    assert pt.cost(setup) - mag.cost(setup) == pytest.approx(6 * 3 * work.mixed * work.n_val, rel=1e-12)
