"""SGAS (``methods/sgas.py``) in the fair comparison at tiny size: its own training, greedy decisions during the
search that the final cell keeps, fewer counted multiply-adds than DARTS as edges are decided, and no search within
the truth's architectures."""

from __future__ import annotations

import pandas as pd
import pytest

from nasaudit.data.loading import load_dataset
from nasaudit.errors import ConfigError
from nasaudit.spaces import get_space
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.setup import WSSetup
from nasaudit.weight_sharing.training import search_space

SETUP = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=2)


def test_sgas_runs_in_the_comparison_and_counts_its_decided_edges(tiny_compare) -> None:
    folder = tiny_compare(["sgas"], epochs=2, within_truth=False)
    summary = pd.read_csv(folder / "summary.csv").set_index("strategy")
    assert "2 SGAS decision round(s), one edge per cell kind each" in summary.loc["sgas", "cost"]
    assert pd.read_csv(folder / "ws_ranking.csv")["method"].tolist() == ["sgas"]
    # the tiny preset decides after every epoch: the second epoch runs one edge as a single op
    sgas, darts = get_method("sgas").cost(SETUP), get_method("darts_alpha").cost(SETUP)
    assert 0 < sgas < darts
    assert get_method("sgas").check(get_space("nb201"), reduced=True) is not None


def test_the_final_cell_keeps_the_decisions_of_the_search() -> None:
    method = get_method("sgas")
    space = search_space(SETUP)
    splits = load_dataset(SETUP.dataset, None, val_fraction=SETUP.val_fraction, seed=0)
    trained = method.train(SETUP, space, splits, 0, None)
    run = trained.state
    chosen = run.projection.chosen["cell"]
    assert sum(c >= 0 for c in chosen) == 2  # one decision after each of the 2 epochs
    final = space.parse(method.derive(trained, SETUP, space, splits, 0))
    for edge, choice in enumerate(chosen):
        if choice >= 0:
            assert final.ops[edge] == run.alphas.candidates["cell"][edge][choice]


def test_sgas_is_refused_within_the_truths_architectures(tiny_compare) -> None:
    with pytest.raises(ConfigError, match="sgas searches within the truth's architectures on"):
        tiny_compare(["sgas"])
