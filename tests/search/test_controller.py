"""The ENAS controller and REINFORCE as a query-based strategy (search-phase paper Table 4, without WS)."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.errors import ConfigError
from nasaudit.search.controller import Controller, Decisions, ReinforceSearch
from nasaudit.search.random_search import RandomSearch
from nasaudit.spaces import get_space
from nasaudit.spaces.subset import SubsetSpace


class ConvCount:
    """A deterministic toy truth: how many 3x3 convolutions a cell has."""

    def evaluate(self, archs: list) -> np.ndarray:
        return np.array([sum(op == "nor_conv_3x3" for op in a.ops) for a in archs], dtype=np.float64)


def test_controller_samples_only_members_of_a_reduced_space() -> None:
    base = get_space("nb201")
    members = base.sample_many(30, 0)
    space = SubsetSpace(base, members)
    controller = Controller(Decisions(space), seed=0)
    rng = np.random.default_rng(0)
    drawn = {controller.sample(rng).arch for _ in range(200)}
    assert drawn <= set(space.members) and len(drawn) > 5


def test_controller_is_for_nb201_cells() -> None:
    with pytest.raises(ConfigError, match="NB201 cells"):
        Decisions(get_space("nb101"))


def test_reinforce_spends_the_budget_reproducibly_and_learns() -> None:
    space = get_space("nb201")
    runs = [ReinforceSearch(lr=0.05).run(space, ConvCount(), 60, seed=3) for _ in range(2)]
    assert runs[0].archs == runs[1].archs and len(set(runs[0].archs)) == 60
    uniform = RandomSearch().run(space, ConvCount(), 60, seed=3).scores.mean()  # 1.2 = 6 edges x 1/5
    assert runs[0].scores.mean() > uniform + 0.5  # the policy moves towards more 3x3 convolutions
    with pytest.raises(ConfigError, match="REINFORCE needs"):
        ReinforceSearch(lr=0.0)
