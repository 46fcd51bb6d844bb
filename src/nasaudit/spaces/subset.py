"""A reduced space: the architectures of a base space that a benchmark holds (search-phase paper Sec. 3.2).

The search-phase paper compares search methods inside spaces small enough to train every member, so
that every final architecture has a ground truth and a rank. A trained benchmark that holds a sample of a
space's equivalence classes defines such a space: its members are every cell of the base space whose
class the benchmark trained. Moves stay inside it (one-step changes that are members); everything else
(strings, classes, graphs, encodings, family, networks and supernets) is the base space's.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Any

import networkx as nx
import numpy as np

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import ENUMERATION_LIMIT, GraphForm, SearchSpace


class PartOfSpace(SearchSpace):
    """Some architectures of a ``base`` space, those ``holds`` admits: ``name``, ``family``, strings, keys, graphs
    and encodings are the base space's; ``neighbours`` are the base space's one-step changes that stay inside, and
    ``mutate`` of an architecture none of whose changes does returns a fresh sample instead. Subclasses say which
    architectures belong (``holds``, on values valid in the base space), how a non-member is refused (``outside``),
    and how they size, sample and enumerate."""

    def __init__(self, base: SearchSpace) -> None:
        self.base = base
        self.name = base.name
        self.family = base.family  # type: ignore[misc]  # an instance copy of the base's class-level family

    @abstractmethod
    def holds(self, arch: Any) -> bool:
        """Whether ``arch``, a value valid in the base space, is a member (no validation: it filters moves)."""

    @abstractmethod
    def outside(self, arch: Any) -> str:
        """The error message refusing ``arch``, valid in the base space but not a member."""

    def parse(self, text: str) -> Hashable:
        return self.base.parse(text)

    def format(self, arch: Any) -> str:
        return self.base.format(arch)

    def validate(self, arch: Any) -> None:
        self.base.validate(arch)
        if not self.holds(self.base.coerce(arch)):
            raise ArchitectureError(self.outside(arch))

    def neighbours(self, arch: Any, position: Hashable | None = None) -> list[Any]:
        """The base space's one-step changes that are members."""
        self.validate(arch)
        self._check_position(arch, position)
        return [n for n in self.base.neighbours(arch, position) if self.holds(n)]

    def _check_position(self, arch: Any, position: Hashable | None) -> None:
        """Refuse a position the base space has but this part does not move (none by default)."""

    def mutate(self, arch: Any, seed: SeedLike) -> Any:
        rng = as_generator(seed)
        options = self.neighbours(arch)
        return options[int(rng.integers(len(options)))] if options else self.sample(rng)

    def canonical(self, arch: Any) -> str:
        return self.base.canonical(arch)

    def to_networkx(self, arch: Any, form: GraphForm = "edge") -> nx.DiGraph:
        return self.base.to_networkx(arch, form)

    def one_hot(self, arch: Any) -> np.ndarray:
        return self.base.one_hot(arch)


class SubsetSpace(PartOfSpace):
    """The members of ``base`` listed in ``members`` (in that order, duplicates dropped).

    ``name``, ``family`` and ``ops`` are the base space's, so code that builds networks, supernets or
    configs from a space keeps working; ``size``, sampling and moves are the subset's. ``mutate`` of a
    member none of whose one-step changes is a member returns a uniformly random member instead.
    """

    def __init__(self, base: SearchSpace, members: Iterable[Any]) -> None:
        super().__init__(base)
        self.ops = base.ops
        self.members: tuple[Any, ...] = tuple(dict.fromkeys(base.coerce(m) for m in members))
        if not self.members:
            raise SpaceError(f"a reduced {base.name!r} space needs at least one architecture")
        self._member_set = frozenset(self.members)

    def __repr__(self) -> str:
        return f"SubsetSpace({self.base!r}, {len(self.members)} members)"

    def holds(self, arch: Any) -> bool:
        return arch in self._member_set

    def outside(self, arch: Any) -> str:
        return (f"{self.base.format(arch)} is not one of the {len(self.members)} architectures of this reduced "
                f"{self.base.name!r} space")

    @property
    def size(self) -> int:
        return len(self.members)

    def _enumerate(self) -> Iterator[Any]:
        return iter(self.members)

    def sample(self, seed: SeedLike) -> Any:
        return self.members[int(as_generator(seed).integers(len(self.members)))]

    def positions(self, arch: Any) -> list[Hashable]:
        return self.base.positions(arch)

    def restrict(self, ops: Sequence[str]) -> SubsetSpace:
        """The members built from ``ops`` only."""
        smaller = self.base.restrict(ops)
        kept = [m for m in self.members if smaller.contains(m)]
        if not kept:
            raise SpaceError(f"no architecture of this reduced {self.base.name!r} space uses only {list(ops)}")
        return SubsetSpace(smaller, kept)

    def describe(self) -> dict[str, Any]:
        return {**self.base.describe(), "size": self.size, "reduced_from": self.base.size}


def classes_space(base: SearchSpace, archs: Iterable[Any]) -> SubsetSpace:
    """The reduced space of every member of ``base`` whose equivalence class one of ``archs`` belongs to (a
    benchmark that trained one cell per class covers all of the class's cells). In a space too large to enumerate
    (DARTS) the twins cannot be listed: there each class holds the first of ``archs`` that belongs to it."""
    first: dict[Hashable, Any] = {}
    for arch in archs:
        value = base.coerce(arch)
        first.setdefault(base.canonical(value), value)
    if base.size > ENUMERATION_LIMIT:
        return SubsetSpace(base, first.values())
    return SubsetSpace(base, (a for a in base.enumerate() if base.canonical(a) in first))
