"""Contract suites shipped with the package: subclass one and pytest runs its tests on your plugin.

As optuna ships ``optuna/testing/pytest_samplers.py`` (a sampler's author subclasses one test class and gets
its tests), nasaudit ships one pytest class per kind of thing a user can plug in::

    from nasaudit.testing import StrategyContract

    class TestMyStrategy(StrategyContract):
        @pytest.fixture
        def strategy(self):
            return MyStrategy(population=10)

Each class names the fixtures it needs (``strategy``, ``evaluator``, ``space``, ``study_kind``, ``method``...)
and raises ``NotImplementedError`` for the ones a subclass must give; the others have defaults that a subclass
may override. The package's own registries run the same classes over every registered entry
(``tests/contracts/``), so a shipped entry and a user's plugin are held to one contract.

This package imports pytest: install it with ``pip install nasaudit[testing]``. Nothing in nasaudit imports it
at start-up.
"""

from __future__ import annotations

import importlib
from typing import Any

#: each name and the module that defines it (imported on first use: the study contract loads the audit runner)
_WHERE = {"AdditiveEvaluator": "strategies", "EvaluatorContract": "evaluators", "MethodContract": "methods",
          "SpaceContract": "spaces", "StrategyContract": "strategies", "StudyContract": "studies",
          "tiny_context": "context"}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'nasaudit.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(f"nasaudit.testing.{_WHERE[name]}"), name)
