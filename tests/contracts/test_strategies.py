"""Every registered query-based strategy passes the shipped ``StrategyContract``."""

from __future__ import annotations

from typing import Any

import pytest

from nasaudit.search import get_strategy, list_strategies
from nasaudit.search.base import Strategy
from nasaudit.testing import StrategyContract

#: the cheapest settings of a strategy whose defaults train a model per step
FAST: dict[str, dict[str, Any]] = {"bananas": {"epochs": 10}}


class TestRegisteredStrategies(StrategyContract):
    @pytest.fixture(params=list_strategies())
    def strategy(self, request: Any) -> Strategy:
        return get_strategy(request.param, **FAST.get(request.param, {}))
