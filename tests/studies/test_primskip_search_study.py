"""primskip_search (redundancy paper App. H): searches inside the PrimSkip group and in the whole space, one
evaluator, the same seeds and budget; deterministic, and the searches inside only query group members."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

import nasaudit.studies.primskip_search  # noqa: F401  (registers the kind)
from nasaudit.spaces import get_space
from nasaudit.spaces.constraints import PrimSkip
from nasaudit.studies import study_entry, write_result
from nasaudit.testing.context import tiny_context

NB201_TABLE = {"kind": "table", "path": "nb201", "metric": "test_acc", "dataset": "cifar10"}
SPEC = {"kind": "primskip_search", "evaluator": "cifar10", "budget": 10, "seeds": 2}


def _run(folder: Path, spec: dict[str, Any], evaluators: dict[str, Any], space: dict[str, Any] | None = None,
         ) -> tuple[Any, dict[str, pd.DataFrame]]:
    entry = study_entry("primskip_search")
    parsed = entry.spec.model_validate(spec)
    result = entry.run(tiny_context(folder, space=space, evaluators=evaluators), parsed)
    write_result(result, folder / "out", "out")
    return result, {t.name: t.frame for t in result.tables}


def test_nb201_table_deterministic_and_inside_searches_stay_in_the_group(tmp_path: Path) -> None:
    first, tables = _run(tmp_path / "a", SPEC, {"cifar10": NB201_TABLE})
    second, again = _run(tmp_path / "b", SPEC, {"cifar10": NB201_TABLE})
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(frame, again[name])
    assert first.notes == second.notes
    assert (tmp_path / "a" / "out" / "best_so_far.png").is_file()

    trajectories = tables["trajectories.csv"]
    constraint = PrimSkip(get_space("nb201"), "primskip")
    inside = trajectories[trajectories["space"] == "primskip"]
    assert len(inside) == 2 * 2 * 10 and all(constraint.satisfied(a) for a in inside["arch"])
    runs = tables["runs.csv"]
    assert len(runs) == 2 * 2 * 2 and set(runs["space"]) == {"primskip", "unconstrained"}
    assert (runs[runs["space"] == "primskip"]["queries_in_group"] == 10).all()
    summary = tables["summary.csv"].set_index(["strategy", "space"])
    assert list(summary.index) == [("random", "primskip"), ("random", "unconstrained"),
                                   ("evolution", "primskip"), ("evolution", "unconstrained")]
    assert {"mean_best_at_1", "mean_best_at_5", "mean_best_at_10", "welch_p"} <= set(summary.columns)
    assert summary["welch_p"].isna().tolist() == [False, True, False, True]
    assert any("App. H" in note for note in first.notes)


def test_spec_bounds_and_checks() -> None:
    spec_class = study_entry("primskip_search").spec
    for bad in ({"group": "random"}, {"budget": 0}, {"seeds": 10**9}, {"strategies": ["reinforce"]},
                {"strategies": ["randon"]}):
        with pytest.raises(ValidationError):
            spec_class.model_validate({**SPEC, **bad})
    spec = spec_class.model_validate(SPEC)
    assert spec.check(get_space("nb201"), Path(".")) == []
    assert spec.check(get_space("darts"), Path(".")) == []
    for space in (get_space("nb101"), get_space("nb201").restrict(["none", "nor_conv_3x3"])):
        problems = spec.check(space, Path("."))
        assert len(problems) == 1 and "\n" not in problems[0]
    with_bananas = spec_class.model_validate({**SPEC, "strategies": ["random", "bananas"]})
    assert len(with_bananas.check(get_space("darts"), Path("."))) == 1


def test_darts_with_an_nb301_surrogate(tmp_path: Path) -> None:
    from ..truth.conftest import write_nb301_folder

    write_nb301_folder(tmp_path / "nb301", n=40)
    evaluators = {"nb301": {"kind": "nb301_surrogate", "path": "nb301", "model": "gbt", "n_estimators": 20}}
    spec = {"kind": "primskip_search", "evaluator": "nb301", "budget": 6, "seeds": 2,
            "strategies": ["random", "local"]}
    result, tables = _run(tmp_path, spec, evaluators, space={"name": "darts"})
    constraint = PrimSkip(get_space("darts"), "primskip")
    trajectories = tables["trajectories.csv"]
    inside = trajectories[trajectories["space"] == "primskip"]
    assert len(inside) == 2 * 2 * 6 and all(constraint.satisfied(a) for a in inside["arch"])
    assert len(tables["summary.csv"]) == 4 and result.settings["group_size"] == constraint.size
