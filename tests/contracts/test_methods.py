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
#: the RNN methods' tiny own settings (enas_rnn's defaults train 200 windows and score 1000 samples an epoch)
TINY_RNN = {"enas_rnn": {"archs_per_epoch": 2, "batches_per_arch": 2, "controller_steps": 1, "controller_batch": 2,
                         "derive_samples": 3, "controller_hidden": 8}}


class TestRegisteredMethods(MethodContract):
    @pytest.fixture(params=WS_METHODS.names())
    def method_name(self, request: Any) -> str:
        return str(request.param)

    @pytest.fixture
    def settings(self, method_name: str) -> dict[str, Any]:
        settings_model = WS_METHODS.get(method_name).settings_model
        if "tune_epochs" in settings_model.model_fields:  # PT's selection, without tuning between decisions
            return {"tune_epochs": 0}
        return TINY.get(method_name, TINY_RNN.get(method_name, {}))

    @pytest.fixture
    def setup(self, method_name: str) -> Any:
        """The contract's NB201 setup, or for a method of the RNN spaces a tiny search of ``rnn_reduced`` on the
        shipped text corpus (600 training tokens, 8 units, 8 ranked cells on 100 validation tokens)."""
        from nasaudit.spaces import get_space
        from nasaudit.testing.methods import EMBEDDED_MASK, RANKED, embedded_cells
        from nasaudit.weight_sharing.setup import WSSetup

        if WS_METHODS.get(method_name).families == ("rnn",):
            space = get_space("rnn_reduced")
            cells = tuple(space.format(a) for a in space.enumerate())
            return WSSetup(space="rnn_reduced", dataset="jargon", within=cells[:20], epochs=1, channels=8,
                           batch_size=8, rank_archs=cells[:RANKED], rank_images=100, train_tokens=600)
        nb201 = embedded_cells(30)
        return WSSetup(space="nb201", mask=EMBEDDED_MASK, within=tuple(nb201), epochs=1,
                       rank_archs=tuple(nb201[:RANKED]), rank_images=64, batch_size=128, val_fraction=0.3)
