"""Every registered evaluator kind, built by its kind exactly as an audit builds it, passes the shipped
``EvaluatorContract`` (the seam of DESIGN.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasaudit.errors import ConfigError
from nasaudit.evaluators import Evaluator
from nasaudit.spaces import get_space
from nasaudit.studies.evaluators import EVALUATOR_KINDS
from nasaudit.testing import EvaluatorContract, tiny_context

NB201_3OPS = {"name": "nb201", "ops": ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]}
TABLE = {"kind": "table", "path": "embedded", "metric": "test_acc"}


def _nb301_results(folder: Path) -> str:
    """An NB301 training-set folder (``<optimizer>/results_<n>.json``) of 30 DARTS genotypes."""
    from nasaudit.truth.surrogate import genotype_to_nb301_config

    rng = np.random.default_rng(0)
    (folder / "nb301" / "random_ws").mkdir(parents=True)
    for index, genotype in enumerate(get_space("darts").sample_many(30, seed=0)):
        val = float(rng.uniform(90, 95))
        result = {"optimized_hyperparamater_config": genotype_to_nb301_config(genotype), "budget": 100,
                  "runtime": 3600.0, "test_accuracy": val - 0.3,
                  "info": [{"val_accuracy": val, "train_accuracy_final": 99.0, "model_parameters": 1_000_000}]}
        (folder / "nb301" / "random_ws" / f"results_{index}.json").write_text(json.dumps(result))
    return "nb301"


def _context_of(kind: str, folder: Path, nb101_csv: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The space and evaluators of a tiny audit holding one evaluator of ``kind`` (named ``kind``)."""
    if kind == "table":
        return NB201_3OPS, {"table": TABLE}
    if kind == "surrogate":
        return NB201_3OPS, {"truth": TABLE, "surrogate": {"kind": "surrogate", "fit_on": "truth", "samples": 40}}
    if kind == "supernet":
        return NB201_3OPS, {"supernet": {"kind": "supernet", "dataset": "embedded", "size": "tiny", "epochs": 1}}
    if kind == "train":
        return NB201_3OPS, {"train": {"kind": "train", "seeds": [0], "options": {"epochs": 1, "channels": 2,
                                                                                  "cells_per_stage": 1}}}
    if kind == "nb101":
        (folder / "nb101.csv").write_text(nb101_csv)
        return {"name": "nb101"}, {"nb101": {"kind": "nb101", "path": "nb101.csv"}}
    if kind == "nb301_results":
        return {"name": "darts"}, {"nb301_results": {"kind": "nb301_results", "path": _nb301_results(folder)}}
    if kind == "nb301_surrogate":
        return {"name": "darts"}, {"nb301_surrogate": {"kind": "nb301_surrogate", "path": _nb301_results(folder),
                                                       "n_estimators": 20}}
    if kind == "proxy":
        return NB201_3OPS, {"proxy": {"kind": "proxy", "proxy": "synflow", "dataset": "embedded", "batch_size": 8}}
    if kind == "nats":
        pytest.skip("the nats kind reads an official NATS-Bench file through the nats_bench package (extra nb201); "
                    "neither ships with nasaudit")
    raise AssertionError(f"evaluator kind {kind!r} has no tiny audit in tests/contracts/test_evaluators.py: add one")


class TestRegisteredEvaluatorKinds(EvaluatorContract):
    @pytest.fixture(scope="class", params=EVALUATOR_KINDS.names())
    def evaluator(self, request: Any, tmp_path_factory: pytest.TempPathFactory, nb101_csv: str) -> Evaluator:
        folder = tmp_path_factory.mktemp(request.param)
        space, evaluators = _context_of(request.param, folder, nb101_csv)
        return tiny_context(folder, space=space, evaluators=evaluators).scored(request.param).evaluator

    @pytest.fixture
    def archs(self, evaluator: Evaluator) -> list[Any]:
        """Members the evaluator scores: a table's own rows where it is one (NB101 and NB301 tables hold samples)."""
        benchmark = getattr(evaluator, "benchmark", None)
        if benchmark is not None and benchmark.space.size > len(benchmark):
            return benchmark.archs()[:12]
        return list(dict.fromkeys(evaluator.space.sample_many(12, seed=0)))


def test_tiny_context_builds_a_kind_registered_after_the_spec_schema(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin's evaluator kind is validated by its own registered spec, not by the schema built at import (the
    suite once refused ``param_count`` of examples/plugins with a pydantic union error)."""
    from typing import Literal

    from nasaudit.studies._base import Scored, StrictModel
    from nasaudit.studies.evaluators import EvaluatorKind

    class ConstantSpec(StrictModel):
        kind: Literal["contract_constant"] = "contract_constant"
        value: float = 1.0

    class Constant:
        def __init__(self, space: Any, value: float) -> None:
            self.space, self.value = space, value

        def evaluate(self, archs: Any) -> np.ndarray:
            return np.array([self.space.coerce(a) and self.value for a in archs], dtype=np.float64)

    kind = EvaluatorKind(ConstantSpec, lambda spec, base, space: [], lambda spec, base: spec.model_dump(),
                         lambda context, name, spec: Scored(Constant(context.space, spec.value), "constant"))
    monkeypatch.setitem(EVALUATOR_KINDS._entries, "contract_constant", kind)
    context = tiny_context(tmp_path, evaluators={"c": {"kind": "contract_constant", "value": 2.5}})
    archs = context.space.sample_many(3, seed=0)
    assert context.scored("c").evaluator.evaluate(archs).tolist() == [2.5, 2.5, 2.5]
    with pytest.raises(ConfigError, match="unknown evaluator kind"):
        tiny_context(tmp_path, evaluators={"c": {"kind": "contract_constnat"}})
    with pytest.raises(ConfigError, match="evaluator 'c'"):
        tiny_context(tmp_path, evaluators={"c": {"kind": "contract_constant", "value": "high"}})
