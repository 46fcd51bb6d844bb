"""Every registered weight-sharing method passes the shipped ``MethodContract``."""

from __future__ import annotations

from typing import Any

import pytest

from nasaudit.testing import MethodContract
from nasaudit.weight_sharing.base import WS_METHODS

#: tiny own settings of the shipped methods whose defaults would make the contract's seed slow
TINY = {"spos_evolution": {"evolution_budget": 4}, "enas": {"controller_steps": 1, "controller_batch": 2,
                                                            "derive_samples": 3},
        "nao": {"seed_archs": 12, "eval_images": 32}}


class TestRegisteredMethods(MethodContract):
    @pytest.fixture(params=WS_METHODS.names())
    def method_name(self, request: Any) -> str:
        return str(request.param)

    @pytest.fixture
    def settings(self, method_name: str) -> dict[str, Any]:
        settings_model = WS_METHODS.get(method_name).settings_model
        if "tune_epochs" in settings_model.model_fields:  # PT's selection, without tuning between decisions
            return {"tune_epochs": 0}
        return TINY.get(method_name, {})
