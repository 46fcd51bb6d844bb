"""A zero-cost proxy and a surrogate as the search evaluator of compare (issue #27): the final architectures scored
by the truth table, the cost column saying what a query was, the proxy's evaluations counted in a note and its
measured seconds only in timing.csv; an undefined search score ranks last."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import spec_from_data
from nasaudit.errors import DataError
from nasaudit.spaces import get_space
from nasaudit.studies.compare import _run_queried

OPS = ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]  # the embedded table's space


def _run(tmp_path: Path, evaluator: dict) -> Path:
    spec = {"name": "p", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": "nb201", "ops": OPS},
            "evaluators": {"truth": {"kind": "table", "path": "embedded", "metric": "test_acc"}, "search": evaluator},
            "analyses": [{"kind": "compare", "evaluator": "search", "truth": "truth", "strategies": ["random", "local"],
                          "budget": 4, "seeds": 2, "within_truth": True}]}
    Runner(spec_from_data(spec, tmp_path)).run()
    return tmp_path / "run" / "00-compare"


def test_a_proxy_search_reports_its_queries_and_their_measured_seconds_apart(tmp_path: Path) -> None:
    folder = _run(tmp_path, {"kind": "proxy", "proxy": "params", "dataset": "embedded", "batch_size": 4})
    summary = pd.read_csv(folder / "summary.csv").set_index("strategy")
    assert summary["mean"].between(50, 100).all()  # scored by the truth table (%), not by the proxy
    assert (summary["cost"] == "4 queries of search (zero-cost proxy params: an untrained network each, "
                               "no training)").all()
    timing = pd.read_csv(folder / "timing.csv")
    assert len(timing) == 4 and (timing["queries"] == 4).all() and (timing["seconds"] > 0).all()
    assert set(timing["training"]) == {"random (params queries)", "local (params queries)"}
    section = json.loads((folder / "section.json").read_text())
    note = next(n for n in section["notes"] if n.startswith("The search evaluator search"))
    assert "made 16 proxy queries" in note and "timing.csv" in note and " s " not in note  # counted, never timed


def test_a_surrogate_search_states_the_truth_queries_it_was_fit_on(tmp_path: Path) -> None:
    folder = _run(tmp_path, {"kind": "surrogate", "fit_on": "truth", "samples": 10})
    summary = pd.read_csv(folder / "summary.csv")
    assert (summary["cost"] == "4 queries of search (gbt surrogate, fit once on 10 queries of truth)").all()
    assert not (folder / "timing.csv").exists()


class _HalfUndefined:
    """Scores every other architecture of the space by its index; the rest are undefined (NaN)."""

    def __init__(self, space: object) -> None:
        self.space = space
        self.index = {a: i for i, a in enumerate(space.enumerate())}

    def evaluate(self, archs: list) -> np.ndarray:
        return np.array([float(self.index[a]) if self.index[a] % 2 else np.nan for a in archs])


def test_an_undefined_search_score_ranks_last_and_stops_a_strategy_that_learns_from_values() -> None:
    space = get_space("nb201").restrict(OPS)
    comparison = _run_queried(space, _HalfUndefined(space), "zc", ["random", "local"], 6, [0, 1])
    for runs in comparison.runs.values():
        for run in runs:
            assert np.isneginf(run.scores).any() and np.isfinite(run.final_score)  # never an undefined final
    with pytest.raises(DataError, match=r"^bananas learns from the values of zc's scores, and zc is undefined for"):
        _run_queried(space, _HalfUndefined(space), "zc", ["bananas"], 6, [0])
