"""One contract every registered search space passes (optuna-style contract suite): round-trips, seeded
sampling, neighbours inside the space, canonical keys that ignore representation, op masking."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.spaces import get_space, list_spaces

SPACES = list_spaces()


@pytest.fixture(params=SPACES)
def space(request):  # type: ignore[no-untyped-def]
    return get_space(request.param)


def test_strings_round_trip_and_validate(space) -> None:  # type: ignore[no-untyped-def]
    for arch in space.sample_many(20, seed=0):
        text = space.format(arch)
        assert space.parse(text) == arch and hash(space.parse(text)) == hash(arch)
        assert space.contains(arch) and space.coerce(text) == arch
        space.validate(arch)


def test_sampling_is_seeded(space) -> None:  # type: ignore[no-untyped-def]
    assert space.sample_many(10, seed=3) == space.sample_many(10, seed=3)
    assert space.sample_many(10, seed=3) != space.sample_many(10, seed=4)
    assert space.sample(np.random.default_rng(5)) == space.sample(np.random.default_rng(5))


def test_neighbours_and_mutations_stay_in_the_space(space) -> None:  # type: ignore[no-untyped-def]
    for arch in space.sample_many(5, seed=1):
        positions = space.positions(arch)
        assert positions
        for position in positions[:3]:
            for neighbour in space.neighbours(arch, position):
                assert neighbour != arch and space.contains(neighbour)
        assert space.contains(space.mutate(arch, seed=0))
        assert space.mutate(arch, seed=0) == space.mutate(arch, seed=0)


def test_canonical_key_is_a_function_of_the_architecture(space) -> None:  # type: ignore[no-untyped-def]
    for arch in space.sample_many(10, seed=2):
        key = space.canonical(arch)
        assert isinstance(key, str) and key == space.canonical(space.parse(space.format(arch)))


def test_size_one_hot_and_graph(space) -> None:  # type: ignore[no-untyped-def]
    assert space.size > 0
    arch = space.sample(0)
    encoding = space.one_hot(arch)
    assert encoding.ndim == 1 and encoding.size > 0 and set(np.unique(encoding)) <= {0, 1}
    assert space.to_networkx(arch).number_of_nodes() > 0
    assert space.describe()["name"] == space.name


def test_restriction_keeps_only_the_ops_given(space) -> None:  # type: ignore[no-untyped-def]
    kept = list(space.ops[:-1])
    try:
        smaller = space.restrict(kept)
    except SpaceError as err:  # per-edge spaces (S1-S4) refuse a mask that empties an edge, and say so
        assert "no selectable op" in str(err)
        return
    assert tuple(smaller.ops) == tuple(kept) and smaller.size <= space.size
    for arch in smaller.sample_many(5, seed=0):
        assert space.contains(arch)


def test_garbage_is_an_architecture_error(space) -> None:  # type: ignore[no-untyped-def]
    for text in ("", "|", "((((", "not an architecture", "\x00"):
        with pytest.raises(ArchitectureError):
            space.parse(text)


def test_the_bare_nb101_cell_grows_instead_of_stalling() -> None:
    """The input -> output cell has no one-step neighbour; mutation grows it by one vertex (found by this suite:
    evolution on NB101 raised SpaceError when it picked that cell as a parent)."""
    space = get_space("nb101")
    bare = space.parse('{"matrix": [[0, 1], [0, 0]], "ops": ["input", "output"]}')
    assert space.neighbours(bare) == []
    grown = space.mutate(bare, seed=0)
    assert space.contains(grown) and len(grown.ops) == 3 and grown.ops[0] == "input" and grown.ops[-1] == "output"
