"""The search-space interface every space implements (DESIGN.md "Interfaces worth getting right").

An ``Arch`` is an immutable, hashable value whose ``str`` is the community format of its space.
A ``SearchSpace`` knows how to parse, validate, sample, enumerate, perturb and compare archs.
"""

from __future__ import annotations

import ast
import warnings
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator, Sequence
from typing import Any, ClassVar, Literal

import networkx as nx
import numpy as np

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.seeding import SeedLike, as_generator

GraphForm = Literal["edge", "node"]

#: Above this many architectures ``enumerate`` refuses instead of running for hours.
ENUMERATION_LIMIT = 5_000_000
#: the longest architecture string a parser reads (published cells are a few hundred characters)
MAX_ARCH_CHARS = 20_000
#: the deepest bracket nesting a parser reads (a DARTS genotype or NB101 JSON needs 4)
MAX_ARCH_NESTING = 16


def check_arch_text(text: object, what: str) -> str:
    """Refuse a non-string, an over-long string or over-deep brackets before any parsing (issue R2 2/7, item 6)."""
    if not isinstance(text, str):
        raise ArchitectureError(f"{what} must be a string, got {type(text).__name__}")
    if len(text) > MAX_ARCH_CHARS:
        raise ArchitectureError(f"{what} has {len(text)} characters; at most {MAX_ARCH_CHARS} are read")
    if not text.isascii():  # int() and regex \d accept Arabic-Indic or full-width digits: refuse them
        pos, ch = next((i, c) for i, c in enumerate(text) if not c.isascii())
        raise ArchitectureError(f"{what} has the non-ASCII character {ch!r} (U+{ord(ch):04X}) at position {pos}; "
                                "architecture strings are ASCII")
    depth = 0
    for pos, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > MAX_ARCH_NESTING:
                raise ArchitectureError(f"{what} nests brackets deeper than {MAX_ARCH_NESTING} (position {pos})")
        elif ch in ")]}":
            depth -= 1
    return text


def genotype_call_fields(text: str, what: str, name: str, fields: tuple[str, ...], call: str) -> dict[str, ast.expr]:
    """The fields of a ``Genotype(...)`` call written as in the authors' ``genotypes.py`` (DARTS CNN and RNN cells),
    by name, unevaluated: positional or keyword, with or without a module prefix. ``what`` names the text in errors
    ("DARTS genotype"), ``name`` the call ("Genotype"), ``call`` its expected form; each error is one
    ``ArchitectureError``."""
    check_arch_text(text, what)
    try:
        with warnings.catch_warnings():  # e.g. an invalid escape in a quoted op name is not the user's concern
            warnings.simplefilter("ignore")
            tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ArchitectureError(f"{what} is not valid Genotype(...) text: {err.msg} at line {err.lineno}, "
                                f"column {err.offset}") from None
    except (MemoryError, RecursionError):  # e.g. thousands of unary minus signs overflow the parser's stack
        raise ArchitectureError(f"{what} is too deeply nested an expression to parse") from None
    body = tree.body
    func = getattr(body, "func", None)
    if not isinstance(body, ast.Call) or (getattr(func, "id", None) or getattr(func, "attr", None)) != "Genotype":
        raise ArchitectureError(f"{what} must be a call '{call}'")
    if len(body.args) > len(fields):
        raise ArchitectureError(f"{name} takes {len(fields)} fields, got {len(body.args)} positional")
    found: dict[str, ast.expr] = dict(zip(fields, body.args, strict=False))
    for kw in body.keywords:
        if kw.arg not in fields:
            raise ArchitectureError(f"unknown {name} field {kw.arg!r}; expected {list(fields)}")
        if kw.arg in found:
            raise ArchitectureError(f"{name} field {kw.arg!r} is given twice")
        found[kw.arg] = kw.value
    missing = [f for f in fields if f not in found]
    if missing:
        raise ArchitectureError(f"{name} is missing field(s) {missing}")
    return found


class SearchSpace(ABC):
    """A cell-based search space: a set of architectures plus the moves between them.

    ``positions(arch)`` lists the operations of an architecture (an edge of an NB201 or DARTS cell, a
    node of an NB101 cell); ``neighbours(arch, position)`` are the one-step changes of that operation,
    which is what operation importance (redundancy paper, eq. 1) averages over.
    """

    #: registry name, e.g. ``"nb201"``
    name: str
    #: which family of cells (and so of networks, supernets, drawings and official formats) this space holds:
    #: ``"nb201"``, ``"darts"`` or ``"nb101"``; restricted and reduced spaces keep their family
    family: ClassVar[str]
    #: the primitive operations this space chooses from (after any restriction)
    ops: tuple[str, ...]

    # ----------------------------------------------------------------- strings and validity
    @abstractmethod
    def parse(self, text: str) -> Hashable:
        """Parse the community string format; raise ``ArchitectureError`` naming the problem."""

    def format(self, arch: Any) -> str:
        """The community string of ``arch`` (``parse(format(a)) == a``)."""
        return str(arch)

    @abstractmethod
    def validate(self, arch: Any) -> None:
        """Raise ``ArchitectureError`` if ``arch`` is not a member of this space."""

    def contains(self, arch: Any) -> bool:
        """Whether ``arch`` (an arch value or a string) is a member of this space."""
        try:
            self.validate(self.parse(arch) if isinstance(arch, str) else arch)
        except ArchitectureError:
            return False
        return True

    def coerce(self, arch: Any) -> Any:
        """Accept an arch or its string; return a validated arch of this space."""
        value = self.parse(arch) if isinstance(arch, str) else arch
        self.validate(value)
        return value

    # ----------------------------------------------------------------- size and enumeration
    @property
    @abstractmethod
    def size(self) -> int:
        """Exact number of distinct architectures in the space."""

    def enumerate(self) -> Iterator[Any]:
        """Every architecture of the space in a fixed order; refuses spaces too large to list."""
        if self.size > ENUMERATION_LIMIT:
            raise SpaceError(
                f"space {self.name!r} has {self.size:,} architectures, more than the enumeration "
                f"limit of {ENUMERATION_LIMIT:,}; sample it instead, or restrict its ops"
            )
        return self._enumerate()

    def _enumerate(self) -> Iterator[Any]:
        raise SpaceError(f"space {self.name!r} cannot be enumerated")

    # ----------------------------------------------------------------- sampling and moves
    @abstractmethod
    def sample(self, seed: SeedLike) -> Any:
        """One architecture drawn uniformly at random from the space."""

    def sample_many(self, n: int, seed: SeedLike) -> list[Any]:
        """``n`` independent uniform samples (with replacement), reproducible from ``seed``."""
        if n < 0:
            raise ValueError(f"n must be non-negative, got {n}")
        rng = as_generator(seed)
        return [self.sample(rng) for _ in range(n)]

    @abstractmethod
    def positions(self, arch: Any) -> list[Hashable]:
        """The operations of ``arch`` as position keys (edge or node identifiers)."""

    @abstractmethod
    def neighbours(self, arch: Any, position: Hashable | None = None) -> list[Any]:
        """All valid one-step changes of ``arch``; only those changing ``position`` if given."""

    def mutate(self, arch: Any, seed: SeedLike) -> Any:
        """A uniformly random neighbour of ``arch``."""
        rng = as_generator(seed)
        options = self.neighbours(arch)
        if not options:
            raise SpaceError(f"{arch} has no neighbours in space {self.name!r}")
        return options[int(rng.integers(len(options)))]

    # ----------------------------------------------------------------- structure
    @abstractmethod
    def canonical(self, arch: Any) -> str:
        """A key equal for exactly the functionally equivalent architectures of the space."""

    @abstractmethod
    def to_networkx(self, arch: Any, form: GraphForm = "edge") -> nx.DiGraph:
        """The cell as a DAG: ``edge`` puts ops on edges, ``node`` makes every op a labelled node."""

    @abstractmethod
    def restrict(self, ops: Sequence[str]) -> SearchSpace:
        """The sub-space using only ``ops`` (op masking, single-path paper Sec. 3.2)."""

    def without(self, mask: Sequence[str]) -> SearchSpace:
        """The space with the ops of ``mask`` removed (op masking, single-path paper Sec. 4.1); an op the space
        lacks, or a mask that leaves nothing to choose, is a SpaceError naming it."""
        if not mask:
            return self
        unknown = sorted(set(mask) - set(self.ops))
        if unknown:
            raise SpaceError(f"mask names op(s) {unknown} that space {self.name!r} lacks; its ops are "
                             f"{list(self.ops)}")
        return self.restrict([op for op in self.ops if op not in mask])

    @abstractmethod
    def one_hot(self, arch: Any) -> np.ndarray:
        """Fixed-length 0/1 vector of the op choices (and wiring), for predictors and distances."""

    def describe(self) -> dict[str, Any]:
        """A short summary for the CLI and reports."""
        return {"name": self.name, "ops": list(self.ops), "size": self.size}

    def _check_restriction(self, ops: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
        ops = tuple(dict.fromkeys(ops))
        unknown = [op for op in ops if op not in allowed]
        if unknown:
            raise SpaceError(
                f"cannot restrict {self.name!r} to unknown op(s) {unknown}; choose from {list(allowed)}"
            )
        if not ops:
            raise SpaceError(f"cannot restrict {self.name!r} to an empty op set")
        return ops


def op_on_node_graph(edges: Sequence[tuple[int, int, str]], n_nodes: int, inputs: Sequence[int],
                     outputs: Sequence[int]) -> nx.DiGraph:
    """Turn an op-on-edge cell into an op-on-node DAG: each (src, dst, op) edge becomes a node ``op``.

    Nodes keep their tensor identity as ``("t", i)`` with label ``input``/``add``/``output``; op nodes
    are ``("op", k)`` labelled with the op name. Used for subgraph mining and isomorphism.
    """
    graph = nx.DiGraph()
    for i in range(n_nodes):
        label = "input" if i in inputs else ("output" if i in outputs else "add")
        graph.add_node(("t", i), label=label)
    for k, (src, dst, op) in enumerate(edges):
        graph.add_node(("op", k), label=op)
        graph.add_edge(("t", src), ("op", k))
        graph.add_edge(("op", k), ("t", dst))
    return graph


def position_error(space: str, position: Hashable, valid: Sequence[Hashable]) -> ArchitectureError:
    """The error for an operation position an architecture does not have."""
    return ArchitectureError(f"{space}: no operation at position {position!r}; valid: {list(valid)}")
