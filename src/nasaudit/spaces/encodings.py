"""Fixed-length architecture encodings for performance predictors (BANANAS, White et al. 2021, Sec. 4).

* ``onehot``: the space's own op (and wiring) one-hot, ``SearchSpace.one_hot``.
* ``adjacency``: the op-on-node DAG of each cell as its upper-triangular adjacency matrix plus a
  one-hot label per node (the "adjacency matrix" encoding).
* ``path``: one indicator per op sequence along an input-to-output path of the cell (the "path
  encoding"); paths through a ``none`` op carry nothing and are left out.

Encoders cache per architecture, so re-encoding a population is a dict lookup.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import networkx as nx
import numpy as np

from nasaudit.errors import SpaceError
from nasaudit.registry import Registry
from nasaudit.spaces.base import GraphForm, SearchSpace
from nasaudit.spaces.darts import DartsSpace

STRUCTURAL_LABELS: tuple[str, ...] = ("input", "add", "output")


class Encoding(ABC):
    """Turns architectures of one space into rows of a float32 matrix of width ``dim``."""

    name: str

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._cache: dict[Hashable, np.ndarray] = {}

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of one encoding."""

    @abstractmethod
    def _encode_one(self, arch: Any) -> np.ndarray: ...

    def encode(self, archs: Sequence[Any]) -> np.ndarray:
        """One row per architecture, shape ``(len(archs), dim)``."""
        rows = np.empty((len(archs), self.dim), dtype=np.float32)
        for i, arch in enumerate(archs):
            row = self._cache.get(arch)
            if row is None:
                row = self._cache[arch] = self._encode_one(arch)
            rows[i] = row
        return rows


class OneHotEncoding(Encoding):
    """The space's op one-hot (``SearchSpace.one_hot``)."""

    name = "onehot"

    def __init__(self, space: SearchSpace) -> None:
        super().__init__(space)
        self._dim = int(space.one_hot(space.sample(0)).size)

    @property
    def dim(self) -> int:
        return self._dim

    def _encode_one(self, arch: Any) -> np.ndarray:
        return self.space.one_hot(arch)


def _cell_graphs(space: SearchSpace, arch: Any, form: GraphForm) -> list[nx.DiGraph]:
    if isinstance(space, DartsSpace):
        return [space.to_networkx(arch, form, cell="normal"), space.to_networkx(arch, form, cell="reduce")]
    return [space.to_networkx(arch, form)]


class AdjacencyEncoding(Encoding):
    """Upper-triangular adjacency of each op-on-node cell DAG plus a one-hot label per node.

    Nodes are ordered by their sorted identifiers; every architecture of the space must have the same
    number of nodes per cell (true for NB201 and DARTS, whose op-on-node graphs are fixed in size).
    """

    name = "adjacency"

    def __init__(self, space: SearchSpace) -> None:
        super().__init__(space)
        self.labels = (*STRUCTURAL_LABELS, *dict.fromkeys(space.ops))
        self._label_index = {label: i for i, label in enumerate(self.labels)}
        self._sizes = [g.number_of_nodes() for g in _cell_graphs(space, space.sample(0), "node")]

    @property
    def dim(self) -> int:
        return sum(n * (n - 1) // 2 + n * len(self.labels) for n in self._sizes)

    def _encode_one(self, arch: Any) -> np.ndarray:
        parts = []
        for graph, size in zip(_cell_graphs(self.space, arch, "node"), self._sizes, strict=True):
            if graph.number_of_nodes() != size:
                raise SpaceError(f"adjacency encoding expects {size} nodes per cell in {self.space.name!r}, "
                                 f"got {graph.number_of_nodes()}")
            order = sorted(graph.nodes)
            matrix = nx.to_numpy_array(graph, nodelist=order, dtype=np.float32)
            labels = np.zeros((size, len(self.labels)), dtype=np.float32)
            for i, node in enumerate(order):
                label = graph.nodes[node].get("label")
                if label not in self._label_index:
                    raise SpaceError(f"adjacency encoding: unknown node label {label!r} in {self.space.name!r}")
                labels[i, self._label_index[label]] = 1.0
            parts += [matrix[np.triu_indices(size, k=1)], labels.ravel()]
        return np.concatenate(parts)


#: the largest path-encoding vocabulary (NB201's is 84 op sequences, NB101's 5,460)
MAX_PATH_VOCABULARY = 100_000


class PathEncoding(Encoding):
    """Indicators of the op sequences along input-to-output paths (BANANAS path encoding, Sec. 4).

    Needs a single-input, single-output cell with ops on edges (NB201-like); the vocabulary is every
    sequence of 1..(nodes - 1) non-``none`` ops, the space's and any fixed ones its cells carry (the RNN cell's
    ``mean`` into the output), and at most ``MAX_PATH_VOCABULARY`` sequences (else a ``SpaceError``: use another
    encoding; ``auto`` then takes the adjacency encoding).
    """

    name = "path"

    def __init__(self, space: SearchSpace) -> None:
        super().__init__(space)
        template = _cell_graphs(space, space.sample(0), "edge")
        sources = [n for n in template[0].nodes if template[0].in_degree(n) == 0]
        sinks = [n for n in template[0].nodes if template[0].out_degree(n) == 0]
        if len(template) != 1 or len(sources) != 1 or len(sinks) != 1:
            raise SpaceError(f"path encoding needs a single-input, single-output cell; space "
                             f"{space.name!r} has another shape; use the 'onehot' or 'adjacency' encoding")
        fixed = sorted({str(op) for *_, op in template[0].edges(data="op")} - set(space.ops))
        ops = [op for op in space.ops if op != "none"] + fixed
        # cells of one space differ in size (NB101: 2..7 vertices): the longest path of the largest one
        longest = max(template[0].number_of_nodes(), int(getattr(space, "max_vertices", 0))) - 1
        size = sum(len(ops) ** length for length in range(1, longest + 1))
        if size > MAX_PATH_VOCABULARY:
            raise SpaceError(f"the path encoding of space {space.name!r} would have {size:,} op sequences (more than "
                             f"{MAX_PATH_VOCABULARY:,}); use the 'onehot' or 'adjacency' encoding")
        vocabulary = [seq for length in range(1, longest + 1) for seq in itertools.product(ops, repeat=length)]
        self._index = {seq: i for i, seq in enumerate(vocabulary)}
        self._paths: dict[frozenset, list[list[tuple[Any, Any]]]] = {}

    @property
    def dim(self) -> int:
        return len(self._index)

    def _encode_one(self, arch: Any) -> np.ndarray:
        graph = _cell_graphs(self.space, arch, "edge")[0]
        wiring = frozenset(graph.edges)
        if wiring not in self._paths:
            sources = [n for n in graph.nodes if graph.in_degree(n) == 0]
            sinks = [n for n in graph.nodes if graph.out_degree(n) == 0]
            if len(sources) != 1 or len(sinks) != 1:
                raise SpaceError(f"path encoding: {arch} is not a single-input, single-output cell")
            source, sink = sources[0], sinks[0]
            self._paths[wiring] = [list(nx.utils.pairwise(p)) for p in nx.all_simple_paths(graph, source, sink)]
        vector = np.zeros(self.dim, dtype=np.float32)
        for path in self._paths[wiring]:
            sequence = tuple(graph.edges[edge]["op"] for edge in path)
            if "none" not in sequence:
                vector[self._index[sequence]] = 1.0
        return vector


ENCODINGS: Registry[Callable[[SearchSpace], Encoding]] = Registry("encoding", SpaceError)
ENCODINGS.add("onehot", OneHotEncoding, "one-hot of the op at every position")
ENCODINGS.add("adjacency", AdjacencyEncoding, "adjacency matrix plus op one-hots (BANANAS)")
ENCODINGS.add("path", PathEncoding, "input-to-output paths (BANANAS path encoding)")


def get_encoding(name: str, space: SearchSpace) -> Encoding:
    """The encoding ``name`` (``onehot``, ``adjacency`` or ``path``) for ``space``."""
    return ENCODINGS.get(name)(space)
