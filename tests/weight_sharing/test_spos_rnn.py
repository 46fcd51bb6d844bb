"""``spos_rnn``: uniform single-path weight sharing in the RNN spaces (search-phase paper Sec. 4.3) keeps the method
contract, draws only members of a reduced space, and its shared paths are the stand-alone cells."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nasaudit.spaces import get_space
from nasaudit.spaces.subset import SubsetSpace
from nasaudit.testing import MethodContract
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.methods.spos_rnn import UniformCells

from .conftest import rnn_setup

TINY = {"windows_per_epoch": 4, "derive_samples": 4}


class TestSPOSRNNContract(MethodContract):
    @pytest.fixture
    def method_name(self) -> str:
        return "spos_rnn"

    @pytest.fixture
    def settings(self) -> dict[str, Any]:
        return TINY

    @pytest.fixture
    def setup(self) -> Any:
        return rnn_setup()

    def test_check_accepts_its_families_and_refuses_others_in_one_line(self, method: Any) -> None:
        assert method.check(get_space("rnn_reduced"), reduced=True) is None
        assert "rnn" in (method.check(get_space("nb201")) or "")


def test_draws_are_uniform_over_the_members_of_a_reduced_space() -> None:
    space = get_space("rnn_reduced")
    members = list(space.enumerate())[3:6]
    reduced = SubsetSpace(space, members)
    rng = np.random.default_rng(0)
    drawn = [UniformCells(reduced).draw(rng) for _ in range(300)]
    counts = {str(m): sum(str(d) == str(m) for d in drawn) for m in members}
    assert set(counts) == {str(m) for m in members} and min(counts.values()) > 70
    assert all(space.contains(UniformCells(space).draw(rng)) for _ in range(5))


def test_the_final_cell_is_described_and_costed() -> None:
    method = get_method("spos_rnn", TINY)
    setup = rnn_setup()
    assert method.cost(setup) > 0 and "uniformly drawn cell per window" in method.describe_cost(setup, "rnn")
