"""The best-of-N random baseline of the fair comparison (search-phase paper App. D.2): ``best_of_n.csv`` for the N the
spec lists, ``random_best_of_equal_cost`` at a method's equal-cost N (also above the ranked set's size), and a spec
without ``best_of`` keeping its identity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.jobs.job import identity
from nasaudit.metrics import expected_best_of_n
from nasaudit.resources import darts_benchmark_path
from nasaudit.studies._ws_compare import WeightSharingSettings, add_equal_cost_columns
from nasaudit.studies.compare import CompareSpec
from nasaudit.weight_sharing.cost import StandAlone

#: the shipped DARTS table, searched inside its own cells: no training, a space too large to enumerate
SPEC = """
output: run
space: {name: darts}
evaluators:
  truth: {kind: table, path: darts_fashion, metric: test_acc}
analyses:
  - {kind: compare, evaluator: truth, strategies: [random, evolution], budget: 5, seeds: 3, within_truth: true,
     weight_sharing: {best_of: [8, 10]}}
"""


def test_best_of_n_table_beside_each_strategys_finals(tmp_path: Path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    run_spec(load_spec(tmp_path / "spec.yaml"))
    folder = tmp_path / "run" / "00-compare"
    table = pd.read_csv(folder / "best_of_n.csv")
    finals = pd.read_csv(folder / "summary.csv").set_index("strategy")
    assert table["n"].tolist() == [8, 8, 10, 10] and table["strategy"].tolist() == ["random", "evolution"] * 2
    truth = pd.read_csv(darts_benchmark_path())["test_acc"]
    for n in (8, 10):
        assert table.loc[table["n"] == n, "random_best_of_n"].eq(expected_best_of_n(truth.to_numpy(), n)).all()
    np.testing.assert_allclose(table["final_mean"], finals.loc[table["strategy"], "mean"])
    assert table["fraction_above"].isin([0, 1 / 3, 2 / 3, 1]).all() and (table["seeds"] == 3).all()
    notes = (folder / "section.json").read_text()
    assert "too large to enumerate" in notes and f"{len(truth)} architectures themselves" in notes


def test_without_best_of_the_identity_and_outputs_are_unchanged() -> None:
    spec = CompareSpec(evaluator="t")
    assert "best_of" not in identity(spec)["weight_sharing"]
    assert identity(CompareSpec(evaluator="t", weight_sharing={"best_of": [8]}))["weight_sharing"]["best_of"] == [8]
    for bad in ([0], [10_001]):
        with pytest.raises(ValidationError):
            WeightSharingSettings(best_of=bad)


def test_equal_cost_best_of_n_above_the_ranked_sets_size() -> None:
    summary = pd.DataFrame({"strategy": ["random", "gdas"]})
    scores = np.array([1.0, 2.0, 3.0])
    one = StandAlone(epochs=1, images=1, macs=1.0)
    add_equal_cost_columns(summary, {"gdas": np.array([3.0])}, scores, {"gdas": 50 * one.work}, one)
    assert summary["equal_cost_queries"].tolist()[1] == 50  # more trainings than the 3 ranked architectures
    best = summary["random_best_of_equal_cost"].tolist()
    assert np.isnan(best[0]) and best[1] == pytest.approx(3 - (2 / 3) ** 50 - (1 / 3) ** 50)
