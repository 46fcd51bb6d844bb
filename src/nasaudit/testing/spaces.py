"""``SpaceContract``: what every search space keeps (``nasaudit.spaces.base.SearchSpace``).

Strings round-trip and validate, sampling is seeded, moves stay inside the space, the canonical key ignores
representation, op masking keeps only the ops given, and a malformed string or an architecture of another
space is an ``ArchitectureError`` (one line), never a crash.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.spaces.base import ENUMERATION_LIMIT, SearchSpace

#: spaces up to this size are enumerated in full by the contract
ENUMERATED = 5_000


class SpaceContract:
    """Subclass and give the ``space`` fixture (a ``SearchSpace`` instance) to run the space contract."""

    @pytest.fixture
    def space(self) -> SearchSpace:
        """The space under test."""
        raise NotImplementedError("a SpaceContract subclass gives the `space` fixture")

    @pytest.fixture
    def foreign_archs(self, space: SearchSpace) -> list[Any]:
        """Architectures that are not members of ``space``: samples of every registered space it does not hold."""
        from nasaudit.spaces import get_space, list_spaces

        out = []
        for name in list_spaces():
            out += [a for a in get_space(name).sample_many(5, seed=0) if not space.contains(a)][:1]
        return out

    def test_strings_round_trip_and_validate(self, space: SearchSpace) -> None:
        for arch in space.sample_many(20, seed=0):
            text = space.format(arch)
            assert isinstance(text, str)
            assert space.parse(text) == arch and hash(space.parse(text)) == hash(arch)
            assert space.contains(arch) and space.contains(text) and space.coerce(text) == arch
            space.validate(arch)

    def test_sampling_is_seeded(self, space: SearchSpace) -> None:
        assert space.sample_many(10, seed=3) == space.sample_many(10, seed=3)
        assert space.sample(np.random.default_rng(5)) == space.sample(np.random.default_rng(5))
        if space.size > 1:
            assert space.sample_many(20, seed=3) != space.sample_many(20, seed=4)

    def test_neighbours_and_mutations_stay_in_the_space(self, space: SearchSpace) -> None:
        for arch in space.sample_many(5, seed=1):
            positions = space.positions(arch)
            assert positions
            for position in positions[:3]:
                for neighbour in space.neighbours(arch, position):
                    assert neighbour != arch and space.contains(neighbour)
            assert space.contains(space.mutate(arch, seed=0))
            assert space.mutate(arch, seed=0) == space.mutate(arch, seed=0)

    def test_canonical_key_is_a_function_of_the_architecture(self, space: SearchSpace) -> None:
        for arch in space.sample_many(10, seed=2):
            key = space.canonical(arch)
            assert isinstance(key, str) and key == space.canonical(space.parse(space.format(arch)))

    def test_size_one_hot_graph_and_description(self, space: SearchSpace) -> None:
        assert isinstance(space.size, int) and space.size > 0
        arch = space.sample(0)
        encoding = space.one_hot(arch)
        assert encoding.ndim == 1 and encoding.size > 0 and set(np.unique(encoding)) <= {0, 1}
        assert all(space.one_hot(a).shape == encoding.shape for a in space.sample_many(5, seed=1))
        assert space.to_networkx(arch).number_of_nodes() > 0
        assert space.describe()["name"] == space.name
        assert isinstance(space.family, str) and space.ops

    def test_a_small_space_enumerates_its_members_once(self, space: SearchSpace) -> None:
        if space.size > ENUMERATION_LIMIT:  # a huge space refuses in one line instead of running for hours
            with pytest.raises(SpaceError):
                space.enumerate()
            return
        members = space.enumerate()
        if space.size > ENUMERATED:  # listing hundreds of thousands is too slow for a contract: the first few
            first = [next(members) for _ in range(10)]
            assert len(set(first)) == len(first) and all(space.contains(a) for a in first)
            return
        listed = list(members)
        assert len(listed) == len(set(listed)) == space.size
        assert all(space.contains(a) for a in listed)

    def test_restriction_keeps_only_the_ops_given(self, space: SearchSpace) -> None:
        kept = list(space.ops[:-1])
        try:
            smaller = space.restrict(kept)
        except SpaceError as err:  # e.g. per-edge spaces (S1-S4) refuse a mask that empties an edge, and say so
            assert str(err) and "\n" not in str(err)
            return
        assert tuple(smaller.ops) == tuple(kept) and smaller.size <= space.size
        for arch in smaller.sample_many(5, seed=0):
            assert space.contains(arch)

    def test_garbage_is_an_architecture_error(self, space: SearchSpace) -> None:
        for text in ("", "|", "((((", "not an architecture", "\x00", "x" * 30_000):
            with pytest.raises(ArchitectureError):
                space.parse(text)
            assert not space.contains(text)

    def test_foreign_architectures_are_refused(self, space: SearchSpace, foreign_archs: list[Any]) -> None:
        for arch in foreign_archs:
            assert not space.contains(arch)
            with pytest.raises(ArchitectureError):
                space.validate(arch)
