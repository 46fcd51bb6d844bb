"""pareto (redundancy paper App. G): the truth's accuracy-cost front and hypervolume, the fronts searches find, search
under a parameter budget, and measured latency kept to its own file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

import nasaudit.studies.pareto  # noqa: F401  (registers the kind)
from nasaudit.errors import ConfigError
from nasaudit.metrics import non_dominated
from nasaudit.nn import build_network, count_parameters
from nasaudit.resources import fashion_benchmark_path
from nasaudit.spaces import get_space
from nasaudit.studies import study_entry, write_result
from nasaudit.testing.context import tiny_context
from nasaudit.truth.tabular import TabularBenchmark

FASHION = {"kind": "table", "path": "fashion", "metric": "test_acc"}
NB201 = {"kind": "table", "path": "nb201", "metric": "test_acc", "dataset": "cifar10"}
SPEC = {"kind": "pareto", "evaluator": "t", "budget": 10, "seeds": 2, "strategies": ["random", "local"],
        "within_truth": True}


def _run(folder: Path, spec: dict[str, Any], evaluators: dict[str, Any], space: dict[str, Any] | None = None,
         write: bool = False) -> tuple[Any, dict[str, pd.DataFrame]]:
    entry = study_entry("pareto")
    result = entry.run(tiny_context(folder, space=space, evaluators=evaluators), entry.spec.model_validate(spec))
    if write:
        write_result(result, folder / "out", "out")
    return result, {t.name: t.frame for t in result.tables}


def test_table_columns_deterministic_and_latency_kept_apart(tmp_path: Path) -> None:
    spec = {**SPEC, "max_params": 40_000, "latency": True, "latency_archs": 2, "latency_repeats": 1}
    first, tables = _run(tmp_path / "a", spec, {"t": FASHION}, write=True)
    second, again = _run(tmp_path / "b", spec, {"t": FASHION})
    for name, frame in tables.items():
        if name != "latency.csv":
            pd.testing.assert_frame_equal(frame, again[name])
    assert first.notes == second.notes and first.settings == second.settings
    assert (tmp_path / "a" / "out" / "pareto.png").is_file()

    # the front is the table's own: its test_acc against its params column, over its 100 cells
    table = TabularBenchmark.from_file(fashion_benchmark_path())
    mask = non_dominated(np.column_stack([table.scores("test_acc"), table.scores("params")]), ["max", "min"])
    truth = tables["truth.csv"].iloc[0]
    assert truth["population"] == 100 and truth["front_size"] == mask.sum() == len(tables["front.csv"])
    assert sorted(tables["front.csv"]["params"]) == sorted(table.scores("params")[mask])
    assert "table's 'params' column" in first.settings["objective_source"]

    runs = tables["runs.csv"]
    assert len(runs) == 2 * 2 and ((runs["hv_fraction"] >= 0) & (runs["hv_fraction"] <= 1 + 1e-12)).all()
    summary = tables["front_summary.csv"].set_index("strategy")
    assert list(summary.index) == ["random", "local"] and np.isnan(summary.loc["random", "welch_p"])
    budget = tables["budget.csv"].set_index("strategy")
    feasible = table.scores("params") <= 40_000
    assert (budget["truth_best"] == table.scores("test_acc")[feasible].max()).all()
    assert (budget["mean_best"] <= budget["truth_best"]).all() and (budget["feasible_archs"] == feasible.sum()).all()

    latency = tables["latency.csv"]
    assert len(latency) == 2 and (latency["latency_ms"] > 0).all()
    assert not any("latency_ms" in frame.columns for name, frame in tables.items() if name != "latency.csv")


def test_nb201_counted_params_of_the_benchmark_network(tmp_path: Path) -> None:
    ops = ["none", "skip_connect", "nor_conv_1x1"]
    spec = {"kind": "pareto", "evaluator": "t", "budget": 5, "seeds": 1, "strategies": ["random"]}
    result, tables = _run(tmp_path, spec, {"t": NB201}, space={"name": "nb201", "ops": ops})
    assert tables["truth.csv"].iloc[0]["population"] == 3 ** 6
    assert "count_parameters" in result.settings["objective_source"]
    front = tables["front.csv"]
    space = get_space("nb201")
    for row in (front.iloc[0], front.iloc[-1]):  # the cheapest and the most accurate cell of the front
        network = build_network(space.parse(row["arch"]), space, num_classes=10)
        assert row["params"] == count_parameters(network)
    assert front["params"].iloc[0] == 73_306  # NB201's smallest CIFAR-10 network: 0.073 MB


def test_spec_bounds_and_refusals(tmp_path: Path) -> None:
    spec_class = study_entry("pareto").spec
    for bad in ({"budget": 0}, {"seeds": 10**9}, {"strategies": ["randon"]}, {"objective": "energy"},
                {"max_params": -1}, {"latency_archs": 10**6}):
        with pytest.raises(ValidationError):
            spec_class.model_validate({**SPEC, **bad})
    reinforce = spec_class.model_validate({**SPEC, "strategies": ["reinforce"], "max_params": 1e5})
    assert len(reinforce.check(get_space("nb201"), Path("."))) == 1
    assert len(reinforce.check(get_space("darts"), Path("."))) == 2
    for spec, message in (({**SPEC, "objective": "latency"}, "latency: true"),
                          ({**SPEC, "max_params": 10}, "no architecture of the population")):
        with pytest.raises(ConfigError, match=message) as caught:
            _run(tmp_path, spec, {"t": FASHION})
        assert "\n" not in str(caught.value)
