"""Reduced spaces: the members a benchmark holds, with moves that stay inside (search-phase paper Sec. 3.2)."""

from __future__ import annotations

import pytest

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.spaces import get_space
from nasaudit.spaces.subset import SubsetSpace, classes_space

NB201 = get_space("nb201")
A = NB201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
B = NB201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
C = NB201.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_members_sampling_and_moves_stay_inside() -> None:
    space = SubsetSpace(NB201, [A, B, C, A])
    assert space.size == 3 and list(space.enumerate()) == [A, B, C]
    assert {space.sample(seed) for seed in range(50)} == {A, B, C}
    assert space.neighbours(A) == [B] and space.neighbours(C) == []
    assert space.mutate(C, 0) in {A, B, C}  # no member one step away: a random member
    assert space.mutate(A, 0) == B
    with pytest.raises(ArchitectureError, match="not one of the 3"):
        space.validate(NB201.sample(1))
    assert space.name == "nb201" and space.family == "nb201" and space.canonical(A) == NB201.canonical(A)


def test_restrict_keeps_the_members_of_the_smaller_op_set() -> None:
    space = SubsetSpace(NB201, [A, B, C])
    assert list(space.restrict(["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]).enumerate()) == [A, B]
    with pytest.raises(SpaceError, match="uses only"):
        space.restrict(["avg_pool_3x3"])


def test_classes_space_holds_every_isomorphic_twin() -> None:
    space = classes_space(NB201, [C])
    # every cell whose output does not depend on the input is one class with C
    assert space.size == sum(NB201.canonical(a) == NB201.canonical(C) for a in NB201.enumerate())
    assert space.size > 1 and all(NB201.canonical(m) == NB201.canonical(C) for m in space.members)
