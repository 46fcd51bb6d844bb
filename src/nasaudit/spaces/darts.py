"""The DARTS cell space (Liu et al., 2019) and its variants S1-S4 (selection paper App. A.2).

A genotype has a normal and a reduce cell. Each cell has two input nodes (0: c_{k-2}, 1: c_{k-1}) and
``n_nodes`` intermediate nodes; intermediate node ``i`` (numbered ``i + 2``) sums exactly two edges
from two different earlier nodes, and the cell output concatenates all intermediate nodes.
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import (
    ENUMERATION_LIMIT,
    MAX_ARCH_CHARS,
    GraphForm,
    SearchSpace,
    genotype_call_fields,
    op_on_node_graph,
    position_error,
)

DARTS_OPS: tuple[str, ...] = (
    "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5",
    "skip_connect", "max_pool_3x3", "avg_pool_3x3",
)
#: every op name a DARTS-like space may use (``none`` only as a supernet candidate, never selected)
KNOWN_DARTS_OPS: tuple[str, ...] = (*DARTS_OPS, "none", "noise", "linear_transformer")
CELL_TYPES: tuple[str, str] = ("normal", "reduce")
CellType = Literal["normal", "reduce"]
Position = tuple[str, int]


@dataclass(frozen=True)
class DartsCell:
    """One cell: ``edges[2i]`` and ``edges[2i + 1]`` are the ``(op, input)`` pairs of node ``i + 2``."""

    edges: tuple[tuple[str, int], ...]
    concat: tuple[int, ...]

    @property
    def n_nodes(self) -> int:
        return len(self.edges) // 2

    def triples(self) -> list[tuple[int, int, str]]:
        """(src, dst, op) for each edge."""
        return [(src, k // 2 + 2, op) for k, (op, src) in enumerate(self.edges)]

    def sorted(self) -> DartsCell:
        """The same cell with each node's two edges ordered by (input, op)."""
        pairs = [tuple(sorted(self.edges[k:k + 2], key=lambda e: (e[1], e[0]))) for k in
                 range(0, len(self.edges), 2)]
        return DartsCell(tuple(e for pair in pairs for e in pair), self.concat)


@dataclass(frozen=True)
class DartsGenotype:
    """A DARTS architecture: the normal and the reduce cell."""

    normal: DartsCell
    reduce: DartsCell

    def cell(self, cell_type: str) -> DartsCell:
        if cell_type not in CELL_TYPES:
            raise ArchitectureError(f"cell type must be 'normal' or 'reduce', got {cell_type!r}")
        return self.normal if cell_type == "normal" else self.reduce

    def replace(self, cell_type: str, cell: DartsCell) -> DartsGenotype:
        return DartsGenotype(cell, self.reduce) if cell_type == "normal" else DartsGenotype(self.normal, cell)

    def __str__(self) -> str:
        def edges(cell: DartsCell) -> str:
            return "[" + ", ".join(f"({op!r}, {src})" for op, src in cell.edges) + "]"

        return (
            f"Genotype(normal={edges(self.normal)}, normal_concat={list(self.normal.concat)}, "
            f"reduce={edges(self.reduce)}, reduce_concat={list(self.reduce.concat)})"
        )


# ---------------------------------------------------------------------------------------- parsing
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


def parse_genotype(text: str) -> DartsGenotype:
    """Parse ``Genotype(normal=[(op, input), ...], normal_concat=..., reduce=..., reduce_concat=...)``.

    Accepts the variants found in published code: any whitespace and newlines, positional fields,
    a module prefix (``genotypes.Genotype``), concat as a list, tuple or ``range(a, b)``.
    """
    fields = genotype_call_fields(text, "DARTS genotype", "Genotype", _FIELDS, "Genotype(normal=..., ...)")
    cells = {}
    for cell_type in CELL_TYPES:
        edges = _literal_edges(fields[cell_type], cell_type)
        concat = _literal_concat(fields[f"{cell_type}_concat"], cell_type)
        cells[cell_type] = DartsCell(edges, concat)
    return DartsGenotype(cells["normal"], cells["reduce"])


def _literal_edges(node: ast.expr, cell_type: str) -> tuple[tuple[str, int], ...]:
    where = f"line {node.lineno}, column {node.col_offset + 1}"
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, RecursionError):
        raise ArchitectureError(f"{cell_type} cell at {where} is not a literal list of (op, input)") from None
    if not isinstance(value, (list, tuple)):
        raise ArchitectureError(f"{cell_type} cell at {where} must be a list of (op, input) pairs")
    if value and all(isinstance(v, (list, tuple)) and len(v) == 2 and isinstance(v[0], (list, tuple))
                     for v in value):
        value = [edge for pair in value for edge in pair]  # the nested-per-node variant [[e, e], ...]
    edges = []
    for k, edge in enumerate(value):
        if (not isinstance(edge, (list, tuple)) or len(edge) != 2 or not isinstance(edge[0], str)
                or isinstance(edge[1], bool) or not isinstance(edge[1], int)):
            raise ArchitectureError(f"{cell_type} edge #{k} {edge!r} must be an (op: str, input: int) pair")
        edges.append((edge[0], edge[1]))
    if len(edges) % 2:
        raise ArchitectureError(
            f"{cell_type} cell has {len(edges)} edges; every intermediate node takes exactly 2"
        )
    return tuple(edges)


def _literal_concat(node: ast.expr, cell_type: str) -> tuple[int, ...]:
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "range":
        try:
            span = range(*[ast.literal_eval(a) for a in node.args])
        except (ValueError, TypeError, RecursionError):
            raise ArchitectureError(f"{cell_type}_concat range(...) must have integer bounds") from None
        if abs(span.stop - span.start) > MAX_ARCH_CHARS:
            raise ArchitectureError(f"{cell_type}_concat {span} is not a cell's few output nodes")
        return tuple(span)
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, RecursionError):
        raise ArchitectureError(f"{cell_type}_concat must be a list of node indices or range(a, b)") from None
    if not isinstance(value, (list, tuple)) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        raise ArchitectureError(f"{cell_type}_concat must be a list of node indices, got {value!r}")
    return tuple(value)


# ---------------------------------------------------------------------------------------- the space
class DartsSpace(SearchSpace):
    """DARTS-like cell space: a primitive set (optionally per edge) and a number of intermediate nodes.

    ``edge_ops`` gives, per cell type, the candidate ops of each mixed edge in DARTS order (node 2's
    edges from 0 and 1, node 3's from 0, 1, 2, ...), as the S1 space does. ``none`` may be a supernet
    candidate (S3) but is never selected into a discrete cell, as in DARTS's genotype derivation.
    """

    family = "darts"

    def __init__(
        self,
        ops: Sequence[str] = DARTS_OPS,
        n_nodes: int = 4,
        name: str = "darts",
        edge_ops: Mapping[str, Sequence[Sequence[str]]] | None = None,
    ) -> None:
        if n_nodes < 1:
            raise SpaceError(f"a DARTS-like cell needs at least one intermediate node, got {n_nodes}")
        self.name = name
        self.n_nodes = n_nodes
        self.n_mixed_edges = sum(i + 2 for i in range(n_nodes))
        if edge_ops is None:
            edge_ops = {c: [tuple(ops)] * self.n_mixed_edges for c in CELL_TYPES}
        self.candidate_ops: dict[str, list[tuple[str, ...]]] = {}
        for cell_type in CELL_TYPES:
            per_edge = [tuple(e) for e in edge_ops[cell_type]]
            if len(per_edge) != self.n_mixed_edges:
                raise SpaceError(
                    f"{name}: {cell_type} edge_ops lists {len(per_edge)} edges, the cell has "
                    f"{self.n_mixed_edges}"
                )
            for ops_here in per_edge:
                unknown = [op for op in ops_here if op not in KNOWN_DARTS_OPS]
                if unknown:
                    raise SpaceError(f"{name}: unknown op(s) {unknown}; known: {list(KNOWN_DARTS_OPS)}")
                if not [op for op in ops_here if op != "none"]:
                    raise SpaceError(f"{name}: an edge of the {cell_type} cell has no selectable op")
            self.candidate_ops[cell_type] = per_edge
        all_ops = [op for c in CELL_TYPES for e in self.candidate_ops[c] for op in e]
        self.ops = tuple(op for op in dict.fromkeys(all_ops) if op != "none")
        self._all_ops_index = {op: i for i, op in enumerate(dict.fromkeys(all_ops))}

    def __repr__(self) -> str:
        return f"DartsSpace(name={self.name!r}, ops={list(self.ops)}, n_nodes={self.n_nodes})"

    # -- helpers
    def mixed_edge(self, node: int, src: int) -> int:
        """Index of the mixed edge ``src -> node + 2`` in DARTS order."""
        return sum(i + 2 for i in range(node)) + src

    def selectable(self, cell_type: str, node: int, src: int) -> tuple[str, ...]:
        """Ops a discrete cell may place on edge ``src -> node + 2``."""
        return tuple(op for op in self.candidate_ops[cell_type][self.mixed_edge(node, src)] if op != "none")

    @property
    def concat(self) -> tuple[int, ...]:
        return tuple(range(2, self.n_nodes + 2))

    # -- strings and validity
    def parse(self, text: str) -> DartsGenotype:
        return parse_genotype(text)

    def validate(self, arch: DartsGenotype) -> None:
        if not isinstance(arch, DartsGenotype):
            raise ArchitectureError(f"not a DARTS genotype: {arch!r}")
        for cell_type in CELL_TYPES:
            self.validate_cell(arch.cell(cell_type), cell_type)

    def validate_cell(self, cell: DartsCell, cell_type: str) -> None:
        """Check one cell against the space's wiring rules and op sets."""
        if len(cell.edges) != 2 * self.n_nodes:
            raise ArchitectureError(
                f"{cell_type} cell has {len(cell.edges)} edges; space {self.name!r} needs "
                f"{2 * self.n_nodes} (2 for each of {self.n_nodes} intermediate nodes)"
            )
        for node in range(self.n_nodes):
            (op_a, in_a), (op_b, in_b) = cell.edges[2 * node:2 * node + 2]
            for op, src in ((op_a, in_a), (op_b, in_b)):
                if src < 0:
                    raise ArchitectureError(f"{cell_type} node {node + 2}: negative input {src}")
                if src == node + 2:
                    raise ArchitectureError(f"{cell_type} node {node + 2}: self-loop (input {src})")
                if src > node + 2:
                    raise ArchitectureError(
                        f"{cell_type} node {node + 2}: input {src} is a later node (would form a cycle)"
                    )
                if op not in KNOWN_DARTS_OPS:
                    raise ArchitectureError(
                        f"{cell_type} node {node + 2}: unknown op {op!r}; known ops: {list(self.ops)}"
                    )
                allowed = self.selectable(cell_type, node, src)
                if op not in allowed:
                    raise ArchitectureError(
                        f"{cell_type} node {node + 2}: op {op!r} on edge {src}->{node + 2} is not in "
                        f"space {self.name!r} (allowed there: {list(allowed)})"
                    )
            if in_a == in_b:
                raise ArchitectureError(
                    f"{cell_type} node {node + 2}: both edges come from node {in_a}; inputs must differ"
                )
        if tuple(sorted(cell.concat)) != self.concat:
            raise ArchitectureError(
                f"{cell_type}_concat is {list(cell.concat)}; space {self.name!r} concatenates "
                f"all intermediate nodes {list(self.concat)}"
            )

    # -- size and enumeration
    def node_options(self, cell_type: str, node: int, ops: Sequence[str] | None = None) -> list[list[str]]:
        """For each possible input of node ``node + 2``, the ops a cell may place there (within ``ops``)."""
        return [[op for op in self.selectable(cell_type, node, src) if ops is None or op in ops]
                for src in range(node + 2)]

    def node_pair_weights(self, cell_type: str, node: int, ops: Sequence[str] | None = None,
                          ) -> tuple[list[tuple[int, int]], np.ndarray]:
        """The input pairs of node ``node + 2`` and how many op choices each pair allows."""
        options = self.node_options(cell_type, node, ops)
        pairs = list(itertools.combinations(range(node + 2), 2))
        return pairs, np.array([len(options[a]) * len(options[b]) for a, b in pairs], dtype=np.int64)

    def cell_count(self, cell_type: str = "normal", ops: Sequence[str] | None = None, first_node: int = 0) -> int:
        """Number of distinct cells of one type (two edges per node, unordered, distinct inputs).

        ``ops`` limits the choices; nodes before ``first_node`` are taken as fixed (a constraint's wiring).
        """
        return math.prod(int(self.node_pair_weights(cell_type, node, ops)[1].sum())
                         for node in range(first_node, self.n_nodes))

    @property
    def size(self) -> int:
        return self.cell_count("normal") * self.cell_count("reduce")

    def enumerate_cells(self, cell_type: str = "normal") -> Iterator[DartsCell]:
        """Every distinct cell of one type (edges sorted by input); refuses when too many."""
        count = self.cell_count(cell_type)
        if count > ENUMERATION_LIMIT:
            raise SpaceError(
                f"space {self.name!r} has {count:,} {cell_type} cells, more than the enumeration limit "
                f"of {ENUMERATION_LIMIT:,}; sample it instead, or restrict its ops or nodes"
            )
        per_node = [list(self._node_choices(cell_type, node)) for node in range(self.n_nodes)]
        for combo in itertools.product(*per_node):
            yield DartsCell(tuple(e for pair in combo for e in pair), self.concat)

    def _node_choices(self, cell_type: str, node: int) -> Iterator[tuple[tuple[str, int], tuple[str, int]]]:
        for a, b in itertools.combinations(range(node + 2), 2):
            for op_a in self.selectable(cell_type, node, a):
                for op_b in self.selectable(cell_type, node, b):
                    yield (op_a, a), (op_b, b)

    def _enumerate(self) -> Iterator[DartsGenotype]:
        reduce_cells = list(self.enumerate_cells("reduce"))
        for normal in self.enumerate_cells("normal"):
            for reduce in reduce_cells:
                yield DartsGenotype(normal, reduce)

    # -- sampling and moves
    def sample_cell(self, cell_type: str, seed: SeedLike, ops: Sequence[str] | None = None) -> DartsCell:
        """A uniformly random cell (optionally drawing ops only from ``ops``)."""
        rng = as_generator(seed)
        edges: list[tuple[str, int]] = []
        for node in range(self.n_nodes):
            options = self.node_options(cell_type, node, ops)
            pairs, weights = self.node_pair_weights(cell_type, node, ops)
            if weights.sum() == 0:
                raise SpaceError(f"no op of {list(ops or [])} is allowed on node {node + 2} of {self.name!r}")
            a, b = pairs[int(rng.choice(len(pairs), p=weights / weights.sum()))]
            edges.append((options[a][int(rng.integers(len(options[a])))], a))
            edges.append((options[b][int(rng.integers(len(options[b])))], b))
        return DartsCell(tuple(edges), self.concat)

    def sample(self, seed: SeedLike) -> DartsGenotype:
        rng = as_generator(seed)
        return DartsGenotype(self.sample_cell("normal", rng), self.sample_cell("reduce", rng))

    def positions(self, arch: DartsGenotype) -> list[Hashable]:
        return list(self._edge_slots())

    def _edge_slots(self) -> list[tuple[str, int]]:
        """Every ``(cell_type, edge index)``; the same for every genotype of the space."""
        return [(c, k) for c in CELL_TYPES for k in range(2 * self.n_nodes)]

    def cell_neighbours(self, cell: DartsCell, cell_type: str, k: int) -> list[DartsCell]:
        """Changes of edge ``k``: another primitive, or the same primitive with its input rewired.

        Only the input end can move: moving the output end would leave one node with one edge and
        another with three, which the space forbids (redundancy paper eq. 1, within constraints).
        """
        node = k // 2
        op, src = cell.edges[k]
        other_src = cell.edges[k ^ 1][1]
        out = []
        for new_op in self.selectable(cell_type, node, src):
            if new_op != op:
                out.append(_replace_edge(cell, k, (new_op, src)))
        for new_src in range(node + 2):
            if new_src not in (src, other_src) and op in self.selectable(cell_type, node, new_src):
                out.append(_replace_edge(cell, k, (op, new_src)))
        return out

    def neighbours(self, arch: DartsGenotype, position: Hashable | None = None) -> list[DartsGenotype]:
        self.validate(arch)
        valid = self._edge_slots()
        if position is not None and position not in valid:
            raise position_error(self.name, position, valid)
        out = []
        for cell_type, k in (valid if position is None else [slot for slot in valid if slot == position]):
            for cell in self.cell_neighbours(arch.cell(cell_type), cell_type, k):
                out.append(arch.replace(cell_type, cell))
        return out

    # -- structure
    def canonical(self, arch: DartsGenotype) -> str:
        return f"normal:{darts_cell_key(arch.normal, reduction=False)};reduce:" \
               f"{darts_cell_key(arch.reduce, reduction=True)}"

    def to_networkx(self, arch: DartsGenotype | DartsCell, form: GraphForm = "edge",
                    cell: CellType = "normal") -> nx.DiGraph:
        """One cell as a DAG; nodes 0, 1 are inputs, ``n_nodes + 2`` the concatenated output."""
        the_cell = arch.cell(cell) if isinstance(arch, DartsGenotype) else arch
        out_node = the_cell.n_nodes + 2
        if form == "node":
            graph = op_on_node_graph(the_cell.triples(), out_node, inputs=[0, 1], outputs=[])
            graph.add_node(("t", out_node), label="output")
            for node in the_cell.concat:
                graph.add_edge(("t", node), ("t", out_node))
            return graph
        graph = nx.DiGraph()
        graph.add_nodes_from(range(out_node + 1))
        for src, dst, op in the_cell.triples():
            graph.add_edge(src, dst, op=op)
        for node in the_cell.concat:
            graph.add_edge(node, out_node, op="concat")
        return graph

    def restrict(self, ops: Sequence[str]) -> DartsSpace:
        kept = self._check_restriction(ops, self.ops)
        edge_ops = {
            c: [tuple(op for op in e if op in kept or op == "none") for e in self.candidate_ops[c]]
            for c in CELL_TYPES
        }
        return DartsSpace(n_nodes=self.n_nodes, name=self.name, edge_ops=edge_ops)

    def one_hot(self, arch: DartsGenotype) -> np.ndarray:
        """For each cell, each mixed edge and each op: 1 where the cell selects that op on that edge."""
        vec = np.zeros((2, self.n_mixed_edges, len(self._all_ops_index)), dtype=np.float32)
        for c, cell_type in enumerate(CELL_TYPES):
            for k, (op, src) in enumerate(arch.cell(cell_type).edges):
                vec[c, self.mixed_edge(k // 2, src), self._all_ops_index[op]] = 1.0
        return vec.ravel()

    def describe(self) -> dict:
        info = super().describe()
        info.update(n_nodes=self.n_nodes, cells_per_type=self.cell_count("normal"),
                    log10_size=round(math.log10(self.size), 3))
        return info


def _replace_edge(cell: DartsCell, k: int, edge: tuple[str, int]) -> DartsCell:
    return DartsCell((*cell.edges[:k], edge, *cell.edges[k + 1:]), cell.concat)


def darts_cell_key(cell: DartsCell, reduction: bool) -> str:
    """Functional key of a cell: each node is the unordered sum of ``op(source)``.

    ``skip_connect`` is the identity between same-resolution nodes; in a reduction cell its edges from
    the inputs are strided (factorised reduce), so there it is an op like any other. The output
    concatenation is treated as unordered (the next cell's 1x1 preprocessing absorbs channel order).
    """
    exprs: list[tuple[str, ...]] = [("in0",), ("in1",)]
    for node in range(cell.n_nodes):
        terms: list[str] = []
        for op, src in cell.edges[2 * node:2 * node + 2]:
            strided = reduction and src < 2
            if op == "skip_connect" and not strided:
                terms.extend(exprs[src])
            else:
                terms.append(f"{op}{'/2' if strided else ''}({'+'.join(exprs[src])})")
        exprs.append(tuple(sorted(terms)))
    return "[" + ",".join(sorted("+".join(exprs[n]) for n in cell.concat)) + "]"


# ------------------------------------------------------------------- variant spaces (App. A.2)
#: S1 per-edge op pairs (Zela et al., 2020, "Understanding and robustifying DARTS", space S1),
#: in DARTS mixed-edge order; the selection paper (App. A.2) re-uses them.
S1_EDGE_OPS: dict[str, list[tuple[str, ...]]] = {
    "normal": [
        ("skip_connect", "dil_conv_3x3"), ("skip_connect", "dil_conv_5x5"),
        ("skip_connect", "dil_conv_5x5"), ("skip_connect", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"),
        ("max_pool_3x3", "skip_connect"), ("skip_connect", "sep_conv_3x3"), ("skip_connect", "sep_conv_3x3"),
        ("skip_connect", "dil_conv_3x3"),
        ("skip_connect", "sep_conv_3x3"), ("max_pool_3x3", "skip_connect"), ("skip_connect", "dil_conv_3x3"),
        ("dil_conv_3x3", "dil_conv_5x5"), ("dil_conv_3x3", "dil_conv_5x5"),
    ],
    "reduce": [
        ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "dil_conv_3x3"),
        ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "avg_pool_3x3"), ("skip_connect", "dil_conv_5x5"),
        ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "sep_conv_3x3"), ("skip_connect", "dil_conv_3x3"),
        ("skip_connect", "dil_conv_5x5"),
        ("max_pool_3x3", "avg_pool_3x3"), ("max_pool_3x3", "avg_pool_3x3"), ("skip_connect", "dil_conv_5x5"),
        ("skip_connect", "dil_conv_5x5"), ("skip_connect", "dil_conv_5x5"),
    ],
}

#: S2-S4: the same op set on every edge of both cells.
UNIFORM_VARIANT_OPS: dict[str, tuple[str, ...]] = {
    "s2": ("skip_connect", "sep_conv_3x3"),
    "s3": ("none", "skip_connect", "sep_conv_3x3"),
    "s4": ("noise", "sep_conv_3x3"),
}


def darts_variant(name: str) -> DartsSpace:
    """One of the spaces S1-S4 of the selection paper (App. A.2)."""
    key = name.lower().removeprefix("darts_")
    if key == "s1":
        return DartsSpace(name="darts_s1", edge_ops=S1_EDGE_OPS)
    if key in UNIFORM_VARIANT_OPS:
        ops = UNIFORM_VARIANT_OPS[key]
        return DartsSpace(name=f"darts_{key}", edge_ops={c: [ops] * 14 for c in CELL_TYPES})
    raise SpaceError(f"unknown DARTS variant {name!r}; choose from s1, s2, s3, s4")
