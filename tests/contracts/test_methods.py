"""Every registered weight-sharing method passes the shipped ``MethodContract``."""

from __future__ import annotations

from typing import Any

import pytest

from nasaudit.testing import MethodContract
from nasaudit.weight_sharing.base import WS_METHODS


class TestRegisteredMethods(MethodContract):
    @pytest.fixture(params=WS_METHODS.names())
    def method_name(self, request: Any) -> str:
        return str(request.param)
