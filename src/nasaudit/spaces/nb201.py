"""The NAS-Bench-201 cell space (Dong & Yang, 2020; redundancy paper App. D).

Four nodes, six edges ``i -> j`` (i < j), each carrying one of five ops. The official string lists the
incoming edges of nodes 1, 2 and 3: ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

from nasaudit.errors import ArchitectureError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import GraphForm, SearchSpace, check_arch_text, op_on_node_graph, position_error

NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: edges (src, dst) in the order of the official string
NB201_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
N_NODES = 4
_TOKEN = re.compile(r"([A-Za-z0-9_]+)~([0-9]+)")  # ASCII digits only (\d matches any Unicode digit)


@dataclass(frozen=True)
class NB201Arch:
    """An NB201 cell: ``ops[k]`` is the op on edge ``NB201_EDGES[k]``."""

    ops: tuple[str, ...]

    def __str__(self) -> str:
        parts, k = [], 0
        for node in range(1, N_NODES):
            parts.append("|" + "|".join(f"{self.ops[k + i]}~{i}" for i in range(node)) + "|")
            k += node
        return "+".join(parts)

    def edges(self) -> list[tuple[int, int, str]]:
        """(src, dst, op) for each of the six edges."""
        return [(s, d, op) for (s, d), op in zip(NB201_EDGES, self.ops, strict=True)]


def parse_nb201(text: str) -> NB201Arch:
    """Parse the official NB201 string exactly; every deviation raises ``ArchitectureError``."""
    check_arch_text(text, "NB201 architecture")
    for pos, ch in enumerate(text):
        if ch.isspace():
            raise ArchitectureError(
                f"NB201 string has whitespace at position {pos}: {text!r}; the format has none"
            )
    groups = text.split("+")
    if len(groups) != N_NODES - 1:
        raise ArchitectureError(
            f"NB201 string must have {N_NODES - 1} node groups joined by '+', found {len(groups)}: {text!r}"
        )
    ops: list[str] = []
    offset = 0
    for node, group in enumerate(groups, start=1):
        if len(group) < 2 or not (group.startswith("|") and group.endswith("|")):
            raise ArchitectureError(
                f"NB201 node {node} group {group!r} (at position {offset}) must look like '|op~i|...|'"
            )
        tokens = group[1:-1].split("|")
        if len(tokens) != node:
            raise ArchitectureError(
                f"NB201 node {node} must have {node} incoming edge(s), found {len(tokens)} in {group!r}"
            )
        for expected_src, token in enumerate(tokens):
            match = _TOKEN.fullmatch(token)
            if match is None:
                raise ArchitectureError(
                    f"NB201 edge {token!r} of node {node} (group at position {offset}) is not 'op~input'"
                )
            op, src = match.group(1), int(match.group(2))
            if op not in NB201_OPS:
                raise ArchitectureError(
                    f"NB201 unknown op {op!r} on edge {src}->{node}; known ops: {list(NB201_OPS)}"
                )
            if src != expected_src:
                raise ArchitectureError(
                    f"NB201 node {node}: edge #{expected_src} must come from node {expected_src}, "
                    f"got ~{src} in {group!r}"
                    + (" (self-loop or cycle)" if src >= node else "")
                )
            ops.append(op)
        offset += len(group) + 1
    return NB201Arch(tuple(ops))


class NB201Space(SearchSpace):
    """All NB201 cells over an op set (the full five ops, or a restriction of them)."""

    family = "nb201"

    def __init__(self, ops: Sequence[str] = NB201_OPS, name: str = "nb201") -> None:
        self.ops = tuple(ops)
        self.name = name
        self._index = {op: i for i, op in enumerate(NB201_OPS)}

    def __repr__(self) -> str:
        return f"NB201Space(ops={list(self.ops)})"

    def parse(self, text: str) -> NB201Arch:
        return parse_nb201(text)

    def validate(self, arch: NB201Arch) -> None:
        if not isinstance(arch, NB201Arch):
            raise ArchitectureError(f"not an NB201 architecture: {arch!r}")
        if len(arch.ops) != len(NB201_EDGES):
            raise ArchitectureError(f"NB201 cell needs {len(NB201_EDGES)} ops, got {len(arch.ops)}")
        for (src, dst), op in zip(NB201_EDGES, arch.ops, strict=True):
            if op not in self.ops:
                raise ArchitectureError(
                    f"op {op!r} on edge {src}->{dst} is not in space {self.name!r} (ops {list(self.ops)})"
                )

    @property
    def size(self) -> int:
        return len(self.ops) ** len(NB201_EDGES)

    def _enumerate(self) -> Iterator[NB201Arch]:
        for ops in itertools.product(self.ops, repeat=len(NB201_EDGES)):
            yield NB201Arch(ops)

    def sample(self, seed: SeedLike) -> NB201Arch:
        rng = as_generator(seed)
        picks = rng.integers(len(self.ops), size=len(NB201_EDGES))
        return NB201Arch(tuple(self.ops[i] for i in picks))

    def positions(self, arch: NB201Arch) -> list[Hashable]:
        return list(range(len(NB201_EDGES)))

    def neighbours(self, arch: NB201Arch, position: Hashable | None = None) -> list[NB201Arch]:
        """Primitive swaps; NB201's wiring is fixed, so no rewiring moves exist (App. D)."""
        self.validate(arch)
        edges = [k for k in range(len(NB201_EDGES)) if position is None or k == position]
        if not edges:
            raise position_error(self.name, position, self.positions(arch))
        out = []
        for k in edges:
            for op in self.ops:
                if op != arch.ops[k]:
                    out.append(NB201Arch((*arch.ops[:k], op, *arch.ops[k + 1:])))
        return out

    def canonical(self, arch: NB201Arch) -> str:
        return nb201_canonical(arch)

    def to_networkx(self, arch: NB201Arch, form: GraphForm = "edge") -> nx.DiGraph:
        if form == "node":
            return op_on_node_graph(arch.edges(), N_NODES, inputs=[0], outputs=[N_NODES - 1])
        graph = nx.DiGraph()
        graph.add_nodes_from(range(N_NODES))
        for src, dst, op in arch.edges():
            graph.add_edge(src, dst, op=op)
        return graph

    def restrict(self, ops: Sequence[str]) -> NB201Space:
        kept = self._check_restriction(ops, self.ops)
        return NB201Space(ops=[op for op in self.ops if op in kept], name=self.name)

    def one_hot(self, arch: NB201Arch) -> np.ndarray:
        vec = np.zeros((len(NB201_EDGES), len(NB201_OPS)), dtype=np.float32)
        vec[np.arange(len(NB201_EDGES)), [self._index[op] for op in arch.ops]] = 1.0
        return vec.ravel()


def nb201_canonical(arch: NB201Arch) -> str:
    """The NB201 benchmark's own equivalence key (its ``UniqueString``; 6,466 classes of 15,625).

    Each node is the sorted ``+``-join of its incoming terms: ``skip_connect`` passes the source's
    expression through, any other op writes ``(source)@op``, and a ``none`` edge, or any edge whose
    source is exactly zero (``#``), contributes ``#``. The key therefore keeps zero terms; dropping
    them as well would merge classes the benchmark keeps apart.
    """
    nodes = ["0"]
    for node in range(1, N_NODES):
        terms = []
        for (src, dst), op in zip(NB201_EDGES, arch.ops, strict=True):
            if dst != node:
                continue
            if op == "none" or nodes[src] == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{op}")
        nodes.append("+".join(sorted(terms)))
    return nodes[-1]
