"""The recurrent cell space of ENAS/DARTS (DARTS Sec. 2.1 and 3.1; search-phase paper Sec. 3.2, 4.2, App. C.6).

A cell has an initial state, node 0 (``s0 = h + sigmoid(c0) * (tanh(h0) - h)`` from ``[x_t, h_{t-1}]``), and
``n_nodes`` intermediate nodes; node ``i`` (1..n) picks one activation (tanh, relu, sigmoid, identity) and one
predecessor ``j < i``, and the cell output is the mean of the ``concat`` states. DARTS (``rnn``) has 8 nodes and
averages all of them (``concat=range(1, 9)``); the search-phase paper's reduced space (``rnn_reduced``, Sec. 3.2)
has 2 nodes: ``|S| = n! * |O|^n = 2 * 4^2 = 32`` cells. ENAS averages the loose ends instead (``output="loose_ends"``).

The community string is the ``Genotype`` of quark0/darts ``rnn/genotypes.py``:
``Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ...], concat=range(1, 9))``.

Equivalence (``canonical``): every node has its own weight matrix, so a cell is a rooted tree (node 0 the root,
each node hanging from its predecessor) labelled by activation and by whether the node is averaged into the
output. Two genotypes compute the same function family (the same networks up to relabelling their weight
matrices) exactly when their trees are isomorphic, e.g. in ``rnn_reduced``
``[('relu', 0), ('tanh', 0)]`` and ``[('tanh', 0), ('relu', 0)]`` (two sibling nodes swapped): the 32 cells
form 26 classes. Apart from this relabelling no two cells are treated as equal (``identity`` is a linear map
``W s``, not a no-op, so it never merges nodes).
"""

from __future__ import annotations

import ast
import itertools
import math
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import (
    GraphForm,
    SearchSpace,
    genotype_call_fields,
    op_on_node_graph,
    position_error,
)

#: the activations a node chooses from (DARTS rnn/genotypes.py PRIMITIVES without the search-only ``none``)
RNN_OPS: tuple[str, ...] = ("tanh", "relu", "sigmoid", "identity")
#: DARTS's number of intermediate nodes (``STEPS = 8``)
RNN_STEPS = 8
#: the most intermediate nodes a cell may have (ENAS has 11; a bound on parsing and building)
MAX_RNN_NODES = 64
Output = Literal["all", "loose_ends"]


@dataclass(frozen=True)
class RNNGenotype:
    """A recurrent cell: ``recurrent[i - 1]`` is the ``(activation, predecessor)`` of node ``i``."""

    recurrent: tuple[tuple[str, int], ...]
    concat: tuple[int, ...]

    @property
    def n_nodes(self) -> int:
        return len(self.recurrent)

    def triples(self) -> list[tuple[int, int, str]]:
        """(predecessor, node, activation) for each node."""
        return [(pred, i, act) for i, (act, pred) in enumerate(self.recurrent, start=1)]

    def __str__(self) -> str:
        nodes = "[" + ", ".join(f"({act!r}, {pred})" for act, pred in self.recurrent) + "]"
        c = self.concat
        contiguous = len(c) > 1 and c == tuple(range(c[0], c[-1] + 1))
        concat = f"range({c[0]}, {c[-1] + 1})" if contiguous else str(list(c))
        return f"Genotype(recurrent={nodes}, concat={concat})"


def loose_ends(recurrent: Sequence[tuple[str, int]]) -> tuple[int, ...]:
    """The nodes no other node reads (ENAS averages these; Pham et al., 2018, Sec. 2.1)."""
    used = {pred for _, pred in recurrent}
    return tuple(i for i in range(1, len(recurrent) + 1) if i not in used)


# ---------------------------------------------------------------------------------------- parsing
_FIELDS = ("recurrent", "concat")


def parse_rnn_genotype(text: str) -> RNNGenotype:
    """Parse ``Genotype(recurrent=[(activation, predecessor), ...], concat=...)``.

    Accepts whitespace and newlines, positional fields, a module prefix (``genotypes.Genotype``) and concat as a
    list, a tuple or ``range(a, b)``. Membership (node count, activations, wiring) is the space's ``validate``.
    """
    fields = genotype_call_fields(text, "RNN genotype", "RNN Genotype", _FIELDS,
                                  "Genotype(recurrent=..., concat=...)")
    return RNNGenotype(_literal_nodes(fields["recurrent"]), _literal_concat(fields["concat"]))


def _literal_nodes(node: ast.expr) -> tuple[tuple[str, int], ...]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        raise ArchitectureError("RNN genotype recurrent= is not a literal list of (activation, predecessor)") \
            from None
    if not isinstance(value, (list, tuple)):
        raise ArchitectureError("RNN genotype recurrent= must be a list of (activation, predecessor) pairs")
    if len(value) > MAX_RNN_NODES:
        raise ArchitectureError(f"RNN genotype has {len(value)} nodes; at most {MAX_RNN_NODES} are read")
    nodes = []
    for k, pair in enumerate(value, start=1):
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2 or not isinstance(pair[0], str)
                or isinstance(pair[1], bool) or not isinstance(pair[1], int)):
            raise ArchitectureError(f"RNN node {k} {pair!r} must be an (activation: str, predecessor: int) pair")
        nodes.append((pair[0], pair[1]))
    return tuple(nodes)


def _literal_concat(node: ast.expr) -> tuple[int, ...]:
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "range":
        try:
            bounds = [ast.literal_eval(a) for a in node.args]
        except (ValueError, TypeError, SyntaxError, RecursionError):
            raise ArchitectureError("RNN genotype concat=range(...) must have integer bounds") from None
        if not 1 <= len(bounds) <= 3 or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            raise ArchitectureError("RNN genotype concat=range(...) must have 1 to 3 integer bounds")
        span = range(*bounds)
        if len(span) > MAX_RNN_NODES + 1:
            raise ArchitectureError(f"RNN genotype concat {span} is longer than a cell's {MAX_RNN_NODES} nodes")
        return tuple(span)
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        raise ArchitectureError("RNN genotype concat= must be a list of node indices or range(a, b)") from None
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                      for v in value):
        raise ArchitectureError(f"RNN genotype concat= must be a list of node indices, got {value!r}")
    return tuple(value)


# ---------------------------------------------------------------------------------------- the space
class RNNSpace(SearchSpace):
    """The ENAS/DARTS recurrent cell space: ``n_nodes`` nodes, each one activation and one predecessor.

    ``output="all"`` averages every node (DARTS, ``concat=range(1, n + 1)``); ``"loose_ends"`` averages the
    nodes no other node reads (ENAS). Size ``n! * |ops|^n`` (search-phase paper Sec. 3.2).
    """

    family = "rnn"

    def __init__(self, ops: Sequence[str] = RNN_OPS, n_nodes: int = RNN_STEPS, name: str = "rnn",
                 output: Output = "all") -> None:
        if not 1 <= n_nodes <= MAX_RNN_NODES:
            raise SpaceError(f"an RNN cell has 1 to {MAX_RNN_NODES} intermediate nodes, got {n_nodes}")
        if output not in ("all", "loose_ends"):
            raise SpaceError(f"RNN cell output must be 'all' or 'loose_ends', got {output!r}")
        self.name = name
        self.n_nodes = n_nodes
        self.output: Output = output
        self.ops = self._check_restriction(ops, RNN_OPS)

    def __repr__(self) -> str:
        return f"RNNSpace(name={self.name!r}, ops={list(self.ops)}, n_nodes={self.n_nodes}, output={self.output!r})"

    def concat_of(self, recurrent: Sequence[tuple[str, int]]) -> tuple[int, ...]:
        """The nodes this space averages into the cell output for these nodes."""
        return tuple(range(1, len(recurrent) + 1)) if self.output == "all" else loose_ends(recurrent)

    def genotype(self, recurrent: Sequence[tuple[str, int]]) -> RNNGenotype:
        """The genotype of these ``(activation, predecessor)`` nodes, with this space's concat."""
        nodes = tuple((str(act), int(pred)) for act, pred in recurrent)
        return RNNGenotype(nodes, self.concat_of(nodes))

    # -- strings and validity
    def parse(self, text: str) -> RNNGenotype:
        return parse_rnn_genotype(text)

    def validate(self, arch: RNNGenotype) -> None:
        if not isinstance(arch, RNNGenotype):
            raise ArchitectureError(f"not an RNN genotype: {arch!r}")
        if arch.n_nodes != self.n_nodes:
            raise ArchitectureError(f"RNN cell has {arch.n_nodes} nodes; space {self.name!r} has {self.n_nodes}")
        for i, (act, pred) in enumerate(arch.recurrent, start=1):
            if act not in self.ops:
                raise ArchitectureError(f"RNN node {i}: activation {act!r} is not in space {self.name!r} "
                                        f"(choose from {list(self.ops)})")
            if pred < 0:
                raise ArchitectureError(f"RNN node {i}: negative predecessor {pred}")
            if pred >= i:
                raise ArchitectureError(f"RNN node {i}: predecessor {pred} is not an earlier node (0..{i - 1})")
        expected = self.concat_of(arch.recurrent)
        if tuple(sorted(arch.concat)) != expected:
            raise ArchitectureError(f"RNN concat is {list(arch.concat)}; space {self.name!r} averages "
                                    f"{'all nodes' if self.output == 'all' else 'the loose ends'} {list(expected)}")

    # -- size and enumeration
    @property
    def size(self) -> int:
        return math.factorial(self.n_nodes) * len(self.ops) ** self.n_nodes

    def _choices(self, node: int) -> list[tuple[str, int]]:
        return [(act, pred) for pred in range(node) for act in self.ops]

    def _enumerate(self) -> Iterator[RNNGenotype]:
        for combo in itertools.product(*(self._choices(i) for i in range(1, self.n_nodes + 1))):
            yield self.genotype(combo)

    # -- sampling and moves
    def sample(self, seed: SeedLike) -> RNNGenotype:
        """Uniform over the space: each node's predecessor and activation drawn independently."""
        rng = as_generator(seed)
        nodes = [(self.ops[int(rng.integers(len(self.ops)))], int(rng.integers(i)))
                 for i in range(1, self.n_nodes + 1)]
        return self.genotype(nodes)

    def positions(self, arch: RNNGenotype) -> list[Hashable]:
        """Node ``i`` (1..n): its activation and its predecessor edge."""
        return list(range(1, self.n_nodes + 1))

    def neighbours(self, arch: RNNGenotype, position: Hashable | None = None) -> list[RNNGenotype]:
        """Each node's activation changed, or its predecessor moved to another earlier node."""
        self.validate(arch)
        valid = self.positions(arch)
        if position is not None and position not in valid:
            raise position_error(self.name, position, valid)
        out = []
        for i in valid if position is None else [position]:
            assert isinstance(i, int)
            act, pred = arch.recurrent[i - 1]
            changes = [(a, pred) for a in self.ops if a != act] + [(act, p) for p in range(i) if p != pred]
            for change in changes:
                out.append(self.genotype((*arch.recurrent[:i - 1], change, *arch.recurrent[i:])))
        return out

    # -- structure
    def canonical(self, arch: RNNGenotype) -> str:
        return rnn_cell_key(arch)

    def to_networkx(self, arch: RNNGenotype, form: GraphForm = "edge") -> nx.DiGraph:
        """The cell as a DAG: node 0 the initial state, ``n + 1`` the averaged output."""
        out_node = arch.n_nodes + 1
        if form == "node":
            graph = op_on_node_graph(arch.triples(), out_node, inputs=[0], outputs=[])
            graph.add_node(("t", out_node), label="output")
            for node in arch.concat:
                graph.add_edge(("t", node), ("t", out_node))
            return graph
        graph = nx.DiGraph()
        graph.add_nodes_from(range(out_node + 1))
        for pred, node, act in arch.triples():
            graph.add_edge(pred, node, op=act)
        for node in arch.concat:
            graph.add_edge(node, out_node, op="mean")
        return graph

    def restrict(self, ops: Sequence[str]) -> RNNSpace:
        return RNNSpace(self._check_restriction(ops, self.ops), self.n_nodes, self.name, self.output)

    def one_hot(self, arch: RNNGenotype) -> np.ndarray:
        """Per node: its activation (over all four) and its predecessor (over 0..n-1)."""
        vec = np.zeros((self.n_nodes, len(RNN_OPS) + self.n_nodes), dtype=np.float32)
        for i, (act, pred) in enumerate(arch.recurrent):
            vec[i, RNN_OPS.index(act)] = 1.0
            vec[i, len(RNN_OPS) + pred] = 1.0
        return vec.ravel()

    def describe(self) -> dict:
        info = super().describe()
        info.update(n_nodes=self.n_nodes, output=self.output, log10_size=round(math.log10(self.size), 3))
        return info


def rnn_cell_key(arch: RNNGenotype) -> str:
    """The canonical form of the cell's rooted labelled tree (AHU): equal exactly for isomorphic cells.

    A node's label is its activation, with ``*`` when the output averages it; children are sorted.
    """
    children: list[list[int]] = [[] for _ in range(arch.n_nodes + 1)]
    for pred, node, _ in arch.triples():
        children[pred].append(node)
    outputs = set(arch.concat)

    def form(node: int) -> str:
        label = "s0" if node == 0 else arch.recurrent[node - 1][0]
        star = "*" if node in outputs else ""
        kids = sorted(form(c) for c in children[node])
        return f"{label}{star}({','.join(kids)})" if kids else f"{label}{star}"

    return form(0)


# ------------------------------------------------------------------- published cells
#: DARTS first order (quark0/darts rnn/genotypes.py ``DARTS_V1``)
DARTS_V1 = ("Genotype(recurrent=[('relu', 0), ('relu', 1), ('tanh', 2), ('relu', 3), ('relu', 4), ('identity', 1), "
            "('relu', 5), ('relu', 1)], concat=range(1, 9))")
#: DARTS second order, the 55.7 / 23M PTB cell (``DARTS_V2``, the file's ``DARTS``)
DARTS_V2 = ("Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), ('tanh', 2), "
            "('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))")
#: the ENAS PTB cell as DARTS transcribed it (``ENAS``): 11 nodes averaging its loose ends, so a member of
#: ``RNNSpace(n_nodes=11, output="loose_ends")``, not of ``rnn``
ENAS = ("Genotype(recurrent=[('tanh', 0), ('tanh', 1), ('relu', 1), ('tanh', 3), ('tanh', 3), ('relu', 3), "
        "('relu', 4), ('relu', 7), ('relu', 8), ('relu', 8), ('relu', 8)], concat=[2, 5, 6, 9, 10, 11])")
PUBLISHED_RNN_GENOTYPES: dict[str, str] = {"DARTS_V1": DARTS_V1, "DARTS_V2": DARTS_V2, "ENAS": ENAS}


def rnn_reduced() -> RNNSpace:
    """The search-phase paper's reduced RNN space (Sec. 3.2, Table 3A): 2 nodes, 4 activations, 32 cells."""
    return RNNSpace(n_nodes=2, name="rnn_reduced")


def rnn_3node() -> RNNSpace:
    """The search-phase paper's 3-node RNN cell of the amount-of-sharing experiment (App. D.1, Fig. 6): 384 cells."""
    return RNNSpace(n_nodes=3, name="rnn_3node")
