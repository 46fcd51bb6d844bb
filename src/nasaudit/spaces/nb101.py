"""The NAS-Bench-101 cell space (Ying et al., 2019; search-phase paper Sec. 3.2 and App. A.2).

A cell is a DAG of at most 7 vertices and at most 9 edges, given as an upper-triangular 0/1 adjacency
matrix and one op per vertex: vertex 0 is ``input``, the last vertex ``output``, and every interior
vertex one of ``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``. Vertices not on an
input->output path are pruned exactly as the NAS-Bench-101 API's ``ModelSpec`` does, and isomorphic
cells share the benchmark's graph hash; the space has 423,624 such classes.

The string of an architecture is one JSON line, ``{"matrix": [[0, 1], [0, 0]], "ops": ["input",
"output"]}``, the (matrix, ops) pair of the NAS-Bench-101 API.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args

import networkx as nx
import numpy as np

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import GraphForm, SearchSpace, check_arch_text, position_error

INPUT, OUTPUT = "input", "output"
#: interior ops, in the order NAS-Bench-101 uses for its hash labels (0, 1, 2)
NB101_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
NB101_MAX_VERTICES = 7
NB101_MAX_EDGES = 9
#: unique cells of the full space, as published (Ying et al., 2019; search-phase paper Sec. 3.2, App. A.2)
NB101_SIZE = 423_624
_HASH_LABELS = {INPUT: -1, OUTPUT: -2} | {op: i for i, op in enumerate(NB101_OPS)}
#: length of ``NB101Space.one_hot``: 21 adjacency slots of a 7-vertex cell + 5 interior vertices x 3 ops
ONE_HOT_LENGTH = NB101_MAX_VERTICES * (NB101_MAX_VERTICES - 1) // 2 + (NB101_MAX_VERTICES - 2) * len(NB101_OPS)

#: how ``NB101Space.sample`` draws: NB101's rejection sampling of raw specs, or uniform over unique cells
Sampling = Literal["spec", "uniform"]


@dataclass(frozen=True)
class NB101Arch:
    """An NB101 cell: ``matrix[i][j] == 1`` is an edge ``i -> j``; ``ops[i]`` is vertex ``i``'s op.

    Build it with ``NB101Arch.from_spec`` (or ``parse_nb101``), which validates and prunes; the space's
    ``validate`` rejects a value built directly that is malformed or not pruned.
    """

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    @classmethod
    def from_spec(cls, matrix: Any, ops: Sequence[str]) -> NB101Arch:
        """The pruned cell of an NAS-Bench-101 API (matrix, ops) pair (lists or a numpy array)."""
        pruned, kept_ops = prune_spec(matrix, ops)
        n_vertices, n_edges = len(kept_ops), int(pruned.sum())
        if n_vertices > NB101_MAX_VERTICES:
            raise ArchitectureError(
                f"NB101 cell has {n_vertices} vertices after pruning; at most {NB101_MAX_VERTICES} allowed"
            )
        if n_edges > NB101_MAX_EDGES:
            raise ArchitectureError(
                f"NB101 cell has {n_edges} edges after pruning; at most {NB101_MAX_EDGES} allowed"
            )
        return cls(tuple(tuple(int(x) for x in row) for row in pruned), tuple(kept_ops))

    @property
    def n_vertices(self) -> int:
        return len(self.ops)

    @property
    def n_edges(self) -> int:
        return sum(map(sum, self.matrix))

    def array(self) -> np.ndarray:
        """The adjacency matrix as an ``int8`` numpy array."""
        return np.array(self.matrix, dtype=np.int8).reshape(self.n_vertices, self.n_vertices)

    def edges(self) -> list[tuple[int, int]]:
        """The edges ``(src, dst)`` in row-major order."""
        return [(i, j) for i, row in enumerate(self.matrix) for j, bit in enumerate(row) if bit]

    def __str__(self) -> str:
        return json.dumps({"matrix": [list(row) for row in self.matrix], "ops": list(self.ops)})


def prune_spec(matrix: Any, ops: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Validate an NB101 (matrix, ops) pair and drop every vertex not on an input->output path.

    This is the pruning of the NAS-Bench-101 API's ``ModelSpec`` (Ying et al., 2019): a vertex is
    kept when it is reachable from the input and reaches the output; edges of dropped vertices go with
    them. Raises ``ArchitectureError`` for a malformed pair or when no path joins input and output.
    """
    adjacency = _check_matrix(matrix)
    op_list = _check_ops(ops, len(adjacency))
    keep = _on_path(adjacency)
    if not keep[-1]:
        raise ArchitectureError("NB101 cell has no path from the input (vertex 0) to the output vertex")
    return adjacency[np.ix_(keep, keep)], [op for op, kept in zip(op_list, keep, strict=True) if kept]


def nb101_hash(arch: NB101Arch) -> str:
    """NAS-Bench-101's graph hash of a pruned cell (Ying et al., 2019, its API's ``hash_module``).

    Each vertex starts from the md5 of its ``(out-degree, in-degree, label)`` (labels: input -1, output
    -2, else the op's index in ``NB101_OPS``); then, as many times as there are vertices, every vertex
    becomes the md5 of its sorted in-neighbour hashes, its sorted out-neighbour hashes and itself. The
    fingerprint is the md5 of the sorted vertex hashes. Isomorphic cells get equal hashes.
    """
    matrix, n_vertices = arch.matrix, len(arch.ops)
    successors = [[w for w, bit in enumerate(row) if bit] for row in matrix]
    predecessors = [[w for w in range(n_vertices) if matrix[w][v]] for v in range(n_vertices)]
    hashes = [_md5(str((len(successors[v]), len(predecessors[v]), _HASH_LABELS[op])))
              for v, op in enumerate(arch.ops)]
    for _ in range(n_vertices):
        hashes = [
            _md5("".join(sorted(hashes[w] for w in predecessors[v])) + "|"
                 + "".join(sorted(hashes[w] for w in successors[v])) + "|" + hashes[v])
            for v in range(n_vertices)
        ]
    return _md5(str(sorted(hashes)))


def parse_nb101(text: str) -> NB101Arch:
    """Parse ``{"matrix": [[...]], "ops": [...]}`` (the ``str`` of an arch); the result is pruned."""
    check_arch_text(text, "NB101 architecture")
    try:
        value = json.loads(text)
    except RecursionError:
        raise ArchitectureError("NB101 string nests too deeply to be a (matrix, ops) pair") from None
    except json.JSONDecodeError as error:
        raise ArchitectureError(
            f"NB101 string is not valid JSON at position {error.pos} ({error.msg}): {text!r}; "
            'expected {"matrix": [[...]], "ops": [...]}'
        ) from None
    if not isinstance(value, dict) or set(value) != {"matrix", "ops"}:
        found = sorted(value) if isinstance(value, dict) else type(value).__name__
        raise ArchitectureError(
            f'NB101 string must be an object with exactly the keys "matrix" and "ops", found {found}'
        )
    return NB101Arch.from_spec(value["matrix"], value["ops"])


# ------------------------------------------------------------------------------------- the space
class NB101Space(SearchSpace):
    """All pruned NB101 cells with at most ``max_vertices`` vertices and ``max_edges`` edges over ``ops``.

    The default (all three ops, 7 vertices, 9 edges) is the NAS-Bench-101 space of 423,624 unique
    cells; smaller settings are the reduced spaces of the search-phase paper (Sec. 3.2; App. D.3,
    Table 6: n=4 has 91 cells, n=5 2.5K, n=6 64K). ``size`` and ``enumerate`` count and list
    isomorphism classes: one cell per NAS-Bench-101 hash.
    """

    family = "nb101"

    def __init__(self, ops: Sequence[str] = NB101_OPS, max_vertices: int = NB101_MAX_VERTICES,
                 max_edges: int = NB101_MAX_EDGES, sampling: Sampling = "spec", name: str = "nb101") -> None:
        self.name = name
        kept = self._check_restriction(ops, NB101_OPS)
        self.ops = tuple(op for op in NB101_OPS if op in kept)
        if not isinstance(max_vertices, int) or not 2 <= max_vertices <= NB101_MAX_VERTICES:
            raise SpaceError(f"max_vertices must be an int from 2 to {NB101_MAX_VERTICES}, got {max_vertices!r}")
        if not isinstance(max_edges, int) or not 1 <= max_edges <= NB101_MAX_EDGES:
            raise SpaceError(f"max_edges must be an int from 1 to {NB101_MAX_EDGES}, got {max_edges!r}")
        if sampling not in get_args(Sampling):
            raise SpaceError(f"sampling must be one of {list(get_args(Sampling))}, got {sampling!r}")
        self.max_vertices = max_vertices
        self.max_edges = max_edges
        self.sampling: Sampling = sampling

    def __repr__(self) -> str:
        return (f"NB101Space(ops={list(self.ops)}, max_vertices={self.max_vertices}, "
                f"max_edges={self.max_edges}, sampling={self.sampling!r})")

    def parse(self, text: str) -> NB101Arch:
        return parse_nb101(text)

    def validate(self, arch: NB101Arch) -> None:
        if not isinstance(arch, NB101Arch):
            raise ArchitectureError(f"not an NB101 architecture: {arch!r}")
        if not (isinstance(arch.matrix, tuple) and all(isinstance(row, tuple) for row in arch.matrix)
                and isinstance(arch.ops, tuple)):
            raise ArchitectureError(
                "NB101Arch needs a tuple of tuples as matrix and a tuple of ops; build it with "
                f"NB101Arch.from_spec: {arch!r}"
            )
        pruned = NB101Arch.from_spec(arch.matrix, arch.ops)
        if pruned != arch:
            dropped = len(arch.ops) - len(pruned.ops)
            raise ArchitectureError(
                f"NB101 cell has {dropped} vertex(es) not on any input->output path; "
                "build it with NB101Arch.from_spec, which prunes them"
            )
        if arch.n_vertices > self.max_vertices:
            raise ArchitectureError(
                f"NB101 cell has {arch.n_vertices} vertices; space {self.name!r} allows {self.max_vertices}"
            )
        if arch.n_edges > self.max_edges:
            raise ArchitectureError(
                f"NB101 cell has {arch.n_edges} edges; space {self.name!r} allows {self.max_edges}"
            )
        for vertex, op in enumerate(arch.ops[1:-1], start=1):
            if op not in self.ops:
                raise ArchitectureError(
                    f"op {op!r} at vertex {vertex} is not in space {self.name!r} (ops {list(self.ops)})"
                )

    # ------------------------------------------------------------------ size and enumeration
    @property
    def size(self) -> int:
        """Exact number of hash classes, counted per unlabelled DAG class by Burnside's lemma."""
        return int(sum(self._labelled_counts(classes).sum() for classes in self._tables()))

    def _enumerate(self) -> Iterator[NB101Arch]:
        """One cell per class: vertex counts ascending, DAG classes, then op labelings in product order."""
        for classes in self._tables():
            for index, matrix in enumerate(classes.matrices):
                rows = tuple(tuple(int(x) for x in row) for row in matrix)
                for labels in self._orbit_labelings(classes, index):
                    yield NB101Arch(rows, (INPUT, *(self.ops[i] for i in labels), OUTPUT))

    def _tables(self) -> list[_DagClasses]:
        return [_dag_classes(n_vertices, self.max_edges) for n_vertices in range(2, self.max_vertices + 1)]

    def _labelled_counts(self, classes: _DagClasses) -> np.ndarray:
        """Cells per unlabelled class: op labelings up to its automorphisms (Burnside's lemma)."""
        fixed = classes.automorphisms @ (len(self.ops) ** classes.cycles)
        return fixed // classes.automorphisms.sum(axis=1)

    def _orbit_labelings(self, classes: _DagClasses, index: int) -> np.ndarray:
        """Interior op indices, one row per labelling class of DAG class ``index`` (lexicographic minima)."""
        n_ops, n_interior = len(self.ops), classes.matrices.shape[1] - 2
        labelings = np.array(list(itertools.product(range(n_ops), repeat=n_interior)),
                             dtype=np.int64).reshape(n_ops**n_interior, n_interior)
        place = n_ops ** np.arange(n_interior - 1, -1, -1, dtype=np.int64)
        interior = classes.perms[classes.automorphisms[index]][:, 1:-1] - 1
        orbit_min = (labelings[:, interior] @ place).min(axis=1)
        return labelings[orbit_min == labelings @ place]

    # ------------------------------------------------------------------ sampling and moves
    def sample(self, seed: SeedLike) -> NB101Arch:
        """One valid cell, drawn as ``sample_many`` describes."""
        return self.sample_many(1, seed)[0]

    def sample_many(self, n: int, seed: SeedLike) -> list[NB101Arch]:
        """``n`` cells, reproducible from ``seed``; how depends on the space's ``sampling``.

        ``"spec"`` (default) is the random search of NB101 (Ying et al., 2019, its colab): fill the
        upper triangle of a ``max_vertices`` matrix with fair coins and every interior vertex with a
        uniform op, prune, and reject the draw when input and output are not joined or more than
        ``max_edges`` edges remain. It is uniform over valid raw specs, not over cells: small cells,
        which many raw specs prune to, are frequent (7-vertex cells are well under 1% of draws).
        ``"uniform"`` draws every unique cell with the same probability (the ranks of the
        search-phase paper App. A.2 assume this): a DAG class weighted by its labelled cells, then one
        of its labelling classes.
        """
        if n < 0:
            raise ValueError(f"n must be non-negative, got {n}")
        rng = as_generator(seed)
        return self._sample_uniform(rng, n) if self.sampling == "uniform" else self._sample_specs(rng, n)

    def _sample_specs(self, rng: np.random.Generator, n: int) -> list[NB101Arch]:
        accepted: list[NB101Arch] = []
        while len(accepted) < n:
            matrices, labels = self._draw_specs(rng, max(16, 4 * (n - len(accepted))))
            keep = _batch_on_path(matrices)
            kept_edges = (matrices * keep[:, :, None] * keep[:, None, :]).sum(axis=(1, 2))
            valid = keep[:, -1] & (kept_edges <= self.max_edges)
            for matrix, label_row, kept in zip(matrices[valid], labels[valid], keep[valid], strict=True):
                ops = (INPUT, *(self.ops[i] for i in label_row[kept[1:-1]]), OUTPUT)
                rows = tuple(tuple(int(x) for x in row) for row in matrix[np.ix_(kept, kept)])
                accepted.append(NB101Arch(rows, ops))
                if len(accepted) == n:
                    break
        return accepted

    def _draw_specs(self, rng: np.random.Generator, batch: int) -> tuple[np.ndarray, np.ndarray]:
        size = self.max_vertices
        coins = rng.integers(2, size=(batch, size, size), dtype=np.int8)
        labels = rng.integers(len(self.ops), size=(batch, size - 2))
        return np.triu(coins, k=1), labels

    def _sample_uniform(self, rng: np.random.Generator, n: int) -> list[NB101Arch]:
        tables = self._tables()
        counts = [self._labelled_counts(classes) for classes in tables]
        table_of = np.concatenate([np.full(len(c), t) for t, c in enumerate(counts)])
        index_in_table = np.concatenate([np.arange(len(c)) for c in counts])
        weights = np.concatenate(counts).astype(float)
        picks = rng.choice(len(weights), size=n, p=weights / weights.sum())
        result = []
        for pick in picks:
            classes, index = tables[table_of[pick]], index_in_table[pick]
            labelings = self._orbit_labelings(classes, index)
            labels = labelings[rng.integers(len(labelings))]
            rows = tuple(tuple(int(x) for x in row) for row in classes.matrices[index])
            result.append(NB101Arch(rows, (INPUT, *(self.ops[i] for i in labels), OUTPUT)))
        return result

    def positions(self, arch: NB101Arch) -> list[Hashable]:
        """Interior vertices ``("node", i)`` and every upper-triangular slot ``("edge", i, j)``, set or not."""
        return list(self._node_positions(arch)) + list(self._edge_positions(arch))

    @staticmethod
    def _node_positions(arch: NB101Arch) -> list[tuple[str, int]]:
        return [("node", i) for i in range(1, arch.n_vertices - 1)]

    @staticmethod
    def _edge_positions(arch: NB101Arch) -> list[tuple[str, int, int]]:
        return [("edge", i, j) for i, j in itertools.combinations(range(arch.n_vertices), 2)]

    def neighbours(self, arch: NB101Arch, position: Hashable | None = None) -> list[NB101Arch]:
        """One-step changes: an interior vertex's op swapped, or one adjacency slot flipped.

        A flip adds edge ``i -> j`` (when fewer than ``max_edges`` edges are set) or removes it (when
        ``i`` keeps another out-edge and ``j`` another in-edge). Flips that would leave a vertex off
        every input->output path are not moves: every neighbour has the same vertices, differs from
        ``arch`` in exactly one op or one slot, and the relation is symmetric.
        """
        self.validate(arch)
        valid = self.positions(arch)
        if position is not None and position not in valid:
            raise position_error(self.name, position, valid)
        result = []
        for _, vertex in self._node_positions(arch):
            if position is not None and ("node", vertex) != position:
                continue
            for op in self.ops:
                if op != arch.ops[vertex]:
                    result.append(NB101Arch(arch.matrix, (*arch.ops[:vertex], op, *arch.ops[vertex + 1:])))
        adjacency = arch.array()
        out_degree, in_degree = adjacency.sum(axis=1), adjacency.sum(axis=0)
        for _, src, dst in self._edge_positions(arch):
            if position is not None and ("edge", src, dst) != position:
                continue
            if adjacency[src, dst]:
                allowed = out_degree[src] > 1 and in_degree[dst] > 1
            else:
                allowed = arch.n_edges < self.max_edges
            if allowed:
                flipped = adjacency.copy()
                flipped[src, dst] = 1 - flipped[src, dst]
                result.append(NB101Arch(tuple(tuple(int(x) for x in row) for row in flipped), arch.ops))
        return result

    def mutate(self, arch: NB101Arch, seed: SeedLike) -> NB101Arch:
        """A uniformly random neighbour; a cell with none (the bare input -> output cell has no op to swap and
        no edge to flip) grows instead: one interior vertex with a random op, fed by the input and feeding the
        output, so that evolution and local search never stall on it."""
        rng = as_generator(seed)
        options = self.neighbours(arch)
        if options:
            return options[int(rng.integers(len(options)))]
        n = len(arch.ops)
        if n >= self.max_vertices or arch.n_edges + 2 > self.max_edges:
            raise SpaceError(f"{arch} has no neighbours in space {self.name!r} and cannot grow")
        grown = np.zeros((n + 1, n + 1), dtype=int)
        grown[:n - 1, :n - 1] = arch.array()[:n - 1, :n - 1]
        grown[:n - 1, n] = arch.array()[:n - 1, n - 1]
        grown[0, n - 1] = grown[n - 1, n] = 1
        op = self.ops[int(rng.integers(len(self.ops)))]
        return NB101Arch(tuple(tuple(int(x) for x in row) for row in grown), (*arch.ops[:-1], op, arch.ops[-1]))

    # ------------------------------------------------------------------ structure
    def canonical(self, arch: NB101Arch) -> str:
        """The NAS-Bench-101 hash: equal exactly for isomorphic cells (search-phase paper Sec. 3.2)."""
        return nb101_hash(arch)

    def to_networkx(self, arch: NB101Arch, form: GraphForm = "edge") -> nx.DiGraph:
        """``node``: vertices labelled with their op; ``edge``: each edge carries its destination's op.

        NB101 puts ops on vertices; the edge form moves each vertex's op onto its incoming edges (edges
        into the output vertex carry ``output``), so op-on-edge analyses can read it.
        """
        if form not in ("edge", "node"):
            raise ArchitectureError(f"graph form must be 'edge' or 'node', got {form!r}")
        graph = nx.DiGraph()
        if form == "node":
            graph.add_nodes_from((i, {"label": op}) for i, op in enumerate(arch.ops))
            graph.add_edges_from(arch.edges())
        else:
            graph.add_nodes_from(range(arch.n_vertices))
            graph.add_edges_from((i, j, {"op": arch.ops[j]}) for i, j in arch.edges())
        return graph

    def restrict(self, ops: Sequence[str]) -> NB101Space:
        kept = self._check_restriction(ops, self.ops)
        return NB101Space(ops=kept, max_vertices=self.max_vertices, max_edges=self.max_edges,
                          sampling=self.sampling, name=self.name)

    def one_hot(self, arch: NB101Arch) -> np.ndarray:
        """The 21 upper-triangular slots of the cell padded to 7 vertices, then 5 x 3 interior op one-hots.

        A smaller cell is padded NB101-style: its output stays vertex 6 and empty vertices are inserted
        before it, so the padding slots and their op rows are zero. Ops use the global ``NB101_OPS``
        order, so the vector has ``ONE_HOT_LENGTH`` entries in every (restricted) space.
        """
        n_vertices = arch.n_vertices
        index = np.r_[np.arange(n_vertices - 1), NB101_MAX_VERTICES - 1]
        padded = np.zeros((NB101_MAX_VERTICES, NB101_MAX_VERTICES), dtype=np.float32)
        padded[np.ix_(index, index)] = arch.array()
        ops = np.zeros((NB101_MAX_VERTICES - 2, len(NB101_OPS)), dtype=np.float32)
        ops[np.arange(n_vertices - 2), [_HASH_LABELS[op] for op in arch.ops[1:-1]]] = 1.0
        return np.concatenate([padded[np.triu_indices(NB101_MAX_VERTICES, k=1)], ops.ravel()])

    def describe(self) -> dict[str, Any]:
        return super().describe() | {"max_vertices": self.max_vertices, "max_edges": self.max_edges,
                                     "sampling": self.sampling}


# ------------------------------------------------------------------------------------- validation
def _check_matrix(matrix: Any) -> np.ndarray:
    try:
        array = np.asarray(matrix)
    except ValueError:
        raise ArchitectureError(f"NB101 matrix must be a square list of 0/1 rows, got {matrix!r}") from None
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ArchitectureError(f"NB101 matrix must be square, got shape {array.shape}: {matrix!r}")
    if len(array) < 2:
        raise ArchitectureError(f"NB101 matrix needs at least 2 vertices (input, output), got {len(array)}")
    if array.dtype != bool and not np.issubdtype(array.dtype, np.number):
        raise ArchitectureError(f"NB101 matrix entries must be 0 or 1, got dtype {array.dtype}: {matrix!r}")
    bad = np.argwhere((array != 0) & (array != 1))
    if len(bad):
        i, j = bad[0]
        raise ArchitectureError(f"NB101 matrix entry [{i}][{j}] is {array[i, j].item()!r}; entries must be 0 or 1")
    lower = np.argwhere(np.tril(array) != 0)
    if len(lower):
        i, j = lower[0]
        kind = "a self-loop" if i == j else f"a backward edge {i}->{j}"
        raise ArchitectureError(
            f"NB101 matrix entry [{i}][{j}] is {kind}; the matrix must be strictly upper-triangular (a DAG)"
        )
    return array.astype(np.int8)


def _check_ops(ops: Sequence[str], n_vertices: int) -> list[str]:
    if isinstance(ops, str) or not isinstance(ops, Sequence | np.ndarray):
        raise ArchitectureError(f"NB101 ops must be a list of op names, got {ops!r}")
    op_list = list(ops)
    for vertex, op in enumerate(op_list):
        if not isinstance(op, str):
            raise ArchitectureError(f"NB101 op at vertex {vertex} must be a string, got {op!r}")
    op_list = [str(op) for op in op_list]
    if len(op_list) != n_vertices:
        raise ArchitectureError(f"NB101 cell has {n_vertices} vertices but {len(op_list)} ops: {op_list}")
    if op_list[0] != INPUT:
        raise ArchitectureError(f"NB101 vertex 0 must be labelled {INPUT!r}, got {op_list[0]!r}")
    if op_list[-1] != OUTPUT:
        raise ArchitectureError(
            f"NB101 vertex {n_vertices - 1} (the last) must be labelled {OUTPUT!r}, got {op_list[-1]!r}"
        )
    for vertex, op in enumerate(op_list[1:-1], start=1):
        if op not in NB101_OPS:
            raise ArchitectureError(
                f"NB101 unknown op {op!r} at vertex {vertex}; interior ops are {list(NB101_OPS)}"
            )
    return op_list


def _on_path(adjacency: np.ndarray) -> np.ndarray:
    """Which vertices of an upper-triangular DAG lie on an input->output path."""
    return _batch_on_path(adjacency[None])[0]


def _batch_on_path(matrices: np.ndarray) -> np.ndarray:
    """``(batch, n, n)`` upper-triangular matrices -> ``(batch, n)`` masks of vertices on an in->out path."""
    batch, n_vertices, _ = matrices.shape
    edges = matrices.astype(bool)
    from_input = np.zeros((batch, n_vertices), dtype=bool)
    to_output = np.zeros((batch, n_vertices), dtype=bool)
    from_input[:, 0] = True
    to_output[:, -1] = True
    for v in range(1, n_vertices):
        from_input[:, v] = (from_input[:, :v] & edges[:, :v, v]).any(axis=1)
    for v in range(n_vertices - 2, -1, -1):
        to_output[:, v] = (to_output[:, v + 1:] & edges[:, v, v + 1:]).any(axis=1)
    on_path = from_input & to_output
    return on_path & on_path[:, -1:]


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------- counting
@dataclass(frozen=True)
class _DagClasses:
    """The unlabelled cells of one vertex count: a matrix per isomorphism class and its automorphisms.

    ``perms`` are the permutations of the interior vertices (input and output stay fixed);
    ``automorphisms[c, g]`` says whether ``perms[g]`` maps class ``c``'s matrix onto itself, and
    ``cycles[g]`` is the number of cycles of ``perms[g]`` on the interior vertices.
    """

    matrices: np.ndarray
    perms: np.ndarray
    automorphisms: np.ndarray
    cycles: np.ndarray


@cache
def _dag_classes(n_vertices: int, max_edges: int) -> _DagClasses:
    """All full DAGs (every vertex on an input->output path) up to isomorphism, as NB101 generates them.

    Full DAGs are the upper-triangular matrices whose every row but the output's and every column but
    the input's is non-empty (NB101's ``is_full_dag``), with at most ``max_edges`` edges. Classes are
    found by the smallest code over all interior permutations of each matrix.
    """
    rows, cols = np.triu_indices(n_vertices, k=1)
    codes = np.arange(1 << len(rows), dtype=np.int64)
    bit = np.int64(1) << np.arange(len(rows), dtype=np.int64)
    full = np.ones(len(codes), dtype=bool)
    for v in range(n_vertices - 1):
        full &= (codes & bit[rows == v].sum()) != 0
    for v in range(1, n_vertices):
        full &= (codes & bit[cols == v].sum()) != 0
    codes = codes[full]
    matrices = np.zeros((len(codes), n_vertices, n_vertices), dtype=np.int8)
    matrices[:, rows, cols] = (codes[:, None] & bit) != 0
    matrices = matrices[matrices.sum(axis=(1, 2)) <= max_edges]
    perms = np.array([(0, *p, n_vertices - 1) for p in itertools.permutations(range(1, n_vertices - 1))],
                     dtype=np.int64)
    weight = np.int64(1) << np.arange(n_vertices * n_vertices, dtype=np.int64)

    def permuted_codes(mats: np.ndarray) -> np.ndarray:
        """``(n, perms)`` codes of every matrix under every interior permutation."""
        flat = [mats[:, p][:, :, p].reshape(len(mats), n_vertices**2).astype(np.int64) @ weight for p in perms]
        return np.stack(flat, axis=1)

    class_key = permuted_codes(matrices).min(axis=1)
    _, first = np.unique(class_key, return_index=True)
    representatives = matrices[np.sort(first)]
    own = representatives.reshape(len(representatives), n_vertices**2).astype(np.int64) @ weight
    automorphisms = permuted_codes(representatives) == own[:, None]
    cycles = np.array([_count_cycles(p[1:-1] - 1) for p in perms], dtype=np.int64)
    return _DagClasses(representatives, perms, automorphisms, cycles)


def _count_cycles(perm: np.ndarray) -> int:
    seen = np.zeros(len(perm), dtype=bool)
    cycles = 0
    for start in range(len(perm)):
        if not seen[start]:
            cycles += 1
            node = start
            while not seen[node]:
                seen[node] = True
                node = perm[node]
    return cycles
