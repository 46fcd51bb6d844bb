"""The worked plugins of ``examples/plugins`` pass the contracts a user's plugin must pass (issue #23: a user
strategy, evaluator and weight-sharing method, each defined in one file outside the package)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasaudit.evaluators import Evaluator
from nasaudit.search.base import Strategy
from nasaudit.testing import EvaluatorContract, MethodContract, StrategyContract, tiny_context

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"


@pytest.fixture(scope="module", autouse=True)
def _examples_loaded() -> None:
    from nasaudit.plugins import load_plugins

    load_plugins([str(EXAMPLES / name) for name in ("greedy_mutation.py", "param_count.py", "random_supernet.py")],
                 confined=False)


class TestGreedyMutationStrategy(StrategyContract):
    @pytest.fixture
    def strategy(self) -> Strategy:
        from nasaudit.search import get_strategy

        return get_strategy("greedy_mutation")


class TestParamCountEvaluator(EvaluatorContract):
    @pytest.fixture
    def evaluator(self, tmp_path: Path) -> Evaluator:
        context = tiny_context(tmp_path, evaluators={"params": {"kind": "param_count",
                                                                 "macro": {"channels": 4, "cells_per_stage": 1}}})
        return context.scored("params").evaluator


class TestRandomSupernetMethod(MethodContract):
    @pytest.fixture
    def method_name(self) -> str:
        return "random_supernet"
