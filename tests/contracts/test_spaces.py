"""Every registered search space, and a reduced ``SubsetSpace``, passes the shipped ``SpaceContract``."""

from __future__ import annotations

from typing import Any

import pytest

from nasaudit.spaces import get_space, list_spaces
from nasaudit.spaces.base import SearchSpace
from nasaudit.testing import SpaceContract


def _subset() -> SearchSpace:
    import pandas as pd

    from nasaudit.resources import embedded_benchmark_path
    from nasaudit.spaces.subset import classes_space

    cells = pd.read_csv(embedded_benchmark_path())["ArchitectureString"].tolist()[:30]
    return classes_space(get_space("nb201").restrict(["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]), cells)


SPACES = [*list_spaces(), "subset"]


class TestRegisteredSpaces(SpaceContract):
    @pytest.fixture(params=SPACES)
    def space(self, request: Any) -> SearchSpace:
        return _subset() if request.param == "subset" else get_space(request.param)


def test_every_registered_space_is_run() -> None:
    assert set(list_spaces()) <= set(SPACES) and "subset" in SPACES


def test_the_bare_nb101_cell_grows_instead_of_stalling() -> None:
    """The input -> output cell has no one-step neighbour; mutation grows it by one vertex (found by this suite:
    evolution on NB101 raised SpaceError when it picked that cell as a parent)."""
    space = get_space("nb101")
    bare = space.parse('{"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]}')
    assert space.neighbours(bare) == []
    grown = space.mutate(bare, seed=0)
    assert space.contains(grown) and len(grown.ops) == 3 and grown.ops[0] == "input" and grown.ops[-1] == "output"
