"""PrimSkipSpace (redundancy paper App. H): a PrimSkip group as a search space; samples, moves and enumeration
stay in the group, and the shipped SpaceContract holds."""

from __future__ import annotations

from typing import Any

import pytest

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.search import get_strategy
from nasaudit.spaces import get_space
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.constraints import PrimSkip, PrimSkipSpace
from nasaudit.spaces.darts import darts_variant
from nasaudit.testing import SpaceContract

CASES = [("nb201", "primskip"), ("nb201", "skip"), ("nb201", "prim"), ("darts", "primskip"), ("darts", "skip")]


class TestPrimSkipSpaces(SpaceContract):
    @pytest.fixture(params=CASES, ids=["-".join(case) for case in CASES])
    def space(self, request: Any) -> SearchSpace:
        name, group = request.param
        return PrimSkipSpace(get_space(name), group)


@pytest.mark.parametrize(("name", "group"), CASES)
def test_samples_neighbours_and_mutations_are_group_members(name: str, group: str) -> None:
    base = get_space(name)
    space, constraint = PrimSkipSpace(base, group), PrimSkip(base, group)
    for arch in space.sample_many(10, seed=7):
        assert constraint.satisfied(arch) and space.contains(arch)
        neighbours = space.neighbours(arch)
        assert neighbours and all(constraint.satisfied(n) for n in neighbours)
        # exactly the base space's moves that stay in the group
        assert neighbours == [n for n in base.neighbours(arch) if constraint.satisfied(n)]
        child = space.mutate(arch, seed=3)
        assert constraint.satisfied(child) and child == space.mutate(arch, seed=3)


def test_nb201_enumeration_is_the_group() -> None:
    base = get_space("nb201")
    for group in ("skip", "prim", "primskip"):
        space, constraint = PrimSkipSpace(base, group), PrimSkip(base, group)
        listed = list(space.enumerate())
        assert len(listed) == len(set(listed)) == space.size == sum(constraint.satisfied(a) for a in base.enumerate())


def test_the_fixed_skip_is_not_a_position_and_non_members_are_refused() -> None:
    space = PrimSkipSpace(get_space("nb201"), "primskip")
    arch = space.sample(0)
    assert space.positions(arch) == [0, 1, 2, 4, 5]  # edge 0 -> 3 (index 3) is the fixed residual skip
    with pytest.raises(ArchitectureError):
        space.neighbours(arch, 3)
    outside = get_space("nb201").parse("|avg_pool_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert not space.contains(outside)
    with pytest.raises(ArchitectureError):
        space.validate(outside)
    darts = PrimSkipSpace(get_space("darts"), "primskip")
    assert ("normal", 0) not in darts.positions(darts.sample(0)) and len(darts.positions(darts.sample(0))) == 12


def test_strategies_search_inside_the_group() -> None:
    import numpy as np

    base = get_space("nb201")
    space = PrimSkipSpace(base, "primskip")

    class Count:
        """Scores a cell by its number of 3x3 convolutions (a deterministic stand-in for a benchmark)."""

        def __init__(self) -> None:
            self.space = base

        def evaluate(self, archs: list[Any]) -> np.ndarray:
            return np.array([float(a.ops.count("nor_conv_3x3")) for a in archs])

    for name in ("random", "evolution", "local"):
        run = get_strategy(name).run(space, Count(), 20, seed=1)
        assert len(run.archs) == 20 and all(space.contains(a) for a in run.archs)


def test_groups_a_space_cannot_hold_are_refused_in_one_line() -> None:
    for make, group in ((lambda: get_space("nb201").restrict(["none", "skip_connect", "nor_conv_3x3"]), "primskip"),
                        (lambda: darts_variant("s1"), "primskip"), (lambda: get_space("nb101"), "skip")):
        with pytest.raises(SpaceError) as caught:
            PrimSkipSpace(make(), group)
        assert "\n" not in str(caught.value)
