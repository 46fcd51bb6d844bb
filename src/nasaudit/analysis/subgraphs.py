"""Frequent subgraph mining over important-operation subgraphs (redundancy paper Sec. 4, eq. 2, App. I).

Each cell becomes a DAG whose nodes are tensors (labelled ``in0``/``in1`` for the inputs, ``out`` for
a node that is itself the cell output, ``node`` otherwise) and whose edges carry the operation name;
``none`` edges are absent connections. The important subgraph keeps only the operations with
``|OI| >= threshold``. Mining is exact: every weakly connected edge subset of every graph is reduced to
a canonical code (node orderings are permuted only within groups of equal structural invariants), so
a pattern's support is the fraction of graphs containing it as a (not necessarily induced) subgraph.
The null reference draws, for each cell, as many random edges of the full cell as its important
subgraph has (App. I, Fig. 34); patterns are ranked by the ratio of the two supports.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd

from nasaudit.analysis.operations import input_nodes, operations, output_node
from nasaudit.errors import DataError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import SearchSpace

#: minimum support of a frequent subgraph (redundancy paper eq. 2)
MIN_SUPPORT = 0.05
DISABLED_OP = "none"
Edge = tuple[int, int, str]
Code = tuple[tuple[str, ...], tuple[tuple[int, int, str], ...]]
_EDGE_TEXT = re.compile(r"(\S+) -(\S+)-> (\S+)")
Sign = Literal["any", "positive", "negative"]
#: which important operations each ``sign`` keeps, given their OI
_SIGNS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "any": lambda oi: oi.notna(), "positive": lambda oi: oi > 0, "negative": lambda oi: oi < 0}


@dataclass(frozen=True)
class CellGraph:
    """A labelled cell DAG: ``labels`` pairs each node with its role, ``edges`` are ``(src, dst, op)``."""

    labels: tuple[tuple[int, str], ...]
    edges: tuple[Edge, ...]


def important_subgraphs(
    space: SearchSpace, oi: pd.DataFrame, cell: str | None = None, sign: Sign = "any"
) -> tuple[list[CellGraph], list[CellGraph]]:
    """For each arch in an OI table: (its important subgraph, its full cell graph), one cell type.

    ``cell`` picks the cell of two-cell spaces (default ``normal``; NB201 has only ``cell``). ``sign`` keeps the
    important operations of either sign (``any``), or only those with positive or negative OI, as the authors'
    release mines one sign at a time (mine_motifs.py ``--condition geq|leq``; App. A's negative subgraphs).
    """
    if sign not in _SIGNS:
        raise DataError(f"sign must be one of {list(_SIGNS)}, got {sign!r}")
    present = sorted(oi["cell"].unique())
    if cell is None:
        cell = present[0] if len(present) == 1 else "normal"
    if cell not in present:
        raise DataError(f"the OI table has no {cell!r} cells; it has {present}")
    rows = oi[(oi["cell"] == cell) & (oi["primitive"] != DISABLED_OP)]
    important_rows = rows[rows["important"] & _SIGNS[sign](rows["oi"])]
    archs = list(dict.fromkeys(oi["arch"]))
    labels = _node_labels(space, archs[0])  # the node roles are fixed by the space
    full = _graphs(rows, labels)
    important = _graphs(important_rows, labels)
    empty = CellGraph(labels, ())
    return [important.get(a, empty) for a in archs], [full.get(a, empty) for a in archs]


def _node_labels(space: SearchSpace, arch_text: str) -> tuple[tuple[int, str], ...]:
    arch = space.parse(arch_text)
    inputs, out = input_nodes(arch), output_node(arch)
    nodes = sorted({n for operation in operations(arch) for n in (operation.src, operation.dst)})
    return tuple((n, f"in{n}" if n in inputs else ("out" if n == out else "node")) for n in nodes)


def _graphs(rows: pd.DataFrame, labels: tuple[tuple[int, str], ...]) -> dict[Hashable, CellGraph]:
    out: dict[Hashable, CellGraph] = {}
    for arch, group in rows.groupby("arch", sort=False):
        edges = zip(group["src"].tolist(), group["dst"].tolist(), group["primitive"].tolist(), strict=True)
        out[arch] = CellGraph(labels, tuple(edges))
    return out


def mine_frequent_subgraphs(
    graphs: Sequence[CellGraph],
    reference_from: Sequence[CellGraph] | None = None,
    min_support: float = MIN_SUPPORT,
    n_random: int = 10,
    seed: SeedLike = 0,
    max_edges: int | None = None,
) -> pd.DataFrame:
    """Frequent connected subgraphs of ``graphs`` with support >= ``min_support`` (eq. 2), ranked by ratio.

    ``reference_from`` are the full cells the ``graphs`` were cut from; the null reference draws
    ``n_random`` random subgraphs of each with the same number of edges (App. I). Columns: ``rank,
    pattern, n_nodes, n_edges, support, support_ref, ratio`` (``inf`` where the reference never
    contains the pattern); ``pattern`` is ``"a -op-> b; ..."`` (see ``pattern_to_networkx``).
    """
    if not graphs:
        raise DataError("subgraph mining needs at least one graph")
    if not 0 < min_support <= 1:
        raise DataError(f"min_support must be in (0, 1], got {min_support}")
    if reference_from is not None and len(reference_from) != len(graphs):
        raise DataError(f"{len(reference_from)} reference cells for {len(graphs)} graphs")
    support = _support(graphs, max_edges)
    frequent = {code: s for code, s in support.items() if s >= min_support}
    table = pd.DataFrame({
        "pattern": [_pattern_text(code) for code in frequent],
        "n_nodes": [len(code[0]) for code in frequent],
        "n_edges": [len(code[1]) for code in frequent],
        "support": list(frequent.values()),
    })
    if reference_from is not None:
        reference = _random_subgraphs(graphs, reference_from, n_random, seed)
        ref_support = _support(reference, max_edges)
        table["support_ref"] = [ref_support.get(code, 0.0) for code in frequent]
        with np.errstate(divide="ignore"):
            table["ratio"] = table["support"] / table["support_ref"]
        table = table.sort_values(["ratio", "support", "pattern"], ascending=[False, False, True])
    else:
        table = table.sort_values(["support", "pattern"], ascending=[False, True])
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def _support(graphs: Sequence[CellGraph], max_edges: int | None) -> dict[Code, float]:
    counts: Counter[Code] = Counter()
    cache: dict[CellGraph, frozenset[Code]] = {}
    for graph, times in Counter(graphs).items():
        if graph not in cache:
            cache[graph] = frozenset(connected_subgraph_codes(graph, max_edges))
        counts.update({code: times for code in cache[graph]})
    return {code: n / len(graphs) for code, n in counts.items()}


def _random_subgraphs(graphs: Sequence[CellGraph], full: Sequence[CellGraph], n_random: int,
                      seed: SeedLike) -> list[CellGraph]:
    if n_random < 1:
        raise DataError(f"n_random must be at least 1, got {n_random}")
    rng = as_generator(seed)
    out = []
    for graph, whole in zip(graphs, full, strict=True):
        m = len(graph.edges)
        if m > len(whole.edges):
            raise DataError(f"an important subgraph has {m} edges but its cell only {len(whole.edges)}")
        for _ in range(n_random):
            picks: np.ndarray | list[int] = rng.choice(len(whole.edges), size=m, replace=False) if m else []
            out.append(CellGraph(whole.labels, tuple(whole.edges[i] for i in sorted(picks))))
    return out


def connected_subgraph_codes(graph: CellGraph, max_edges: int | None = None) -> set[Code]:
    """Canonical codes of every weakly connected edge subset of ``graph`` (the candidate patterns of eq. 2)."""
    edges = graph.edges
    limit = len(edges) if max_edges is None else min(max_edges, len(edges))
    label = dict(graph.labels)
    codes = set()
    for size in range(1, limit + 1):
        for subset in itertools.combinations(edges, size):
            if _weakly_connected(subset):
                codes.add(canonical_code(subset, label))
    return codes


def _weakly_connected(edges: Sequence[Edge]) -> bool:
    reached = {edges[0][0], edges[0][1]}
    pending = list(edges[1:])
    grew = True
    while pending and grew:
        grew = False
        for edge in list(pending):
            if edge[0] in reached or edge[1] in reached:
                reached.update(edge[:2])
                pending.remove(edge)
                grew = True
    return not pending


def canonical_code(edges: Sequence[Edge], label: dict[int, str]) -> Code:
    """A code of a labelled edge set equal exactly for isomorphic subgraphs (pattern identity for eq. 2)."""
    nodes = sorted({n for e in edges for n in e[:2]})
    invariant = {
        n: (label[n],
            tuple(sorted((op, label[d]) for s, d, op in edges if s == n)),
            tuple(sorted((op, label[s]) for s, d, op in edges if d == n)))
        for n in nodes
    }
    groups = [list(g) for _, g in itertools.groupby(sorted(nodes, key=lambda n: invariant[n]),
                                                    key=lambda n: invariant[n])]

    def relabelled(ordering: Iterable[Sequence[int]]) -> tuple[Edge, ...]:
        position = {n: i for i, n in enumerate(itertools.chain.from_iterable(ordering))}
        return tuple(sorted((position[s], position[d], op) for s, d, op in edges))

    best = min(relabelled(ordering) for ordering in itertools.product(*(itertools.permutations(g) for g in groups)))
    node_labels = tuple(label[n] for g in groups for n in g)
    return node_labels, best


def _pattern_text(code: Code) -> str:
    names = [lab if lab != "node" else f"n{i}" for i, lab in enumerate(code[0])]
    return "; ".join(f"{names[s]} -{op}-> {names[d]}" for s, d, op in code[1])


def pattern_primitives(pattern: str) -> set[str]:
    """The primitives on the edges of a mined ``pattern`` (App. A compares those of the best and the worst cells)."""
    return {op for _, op, _ in _pattern_edges(pattern)}


def _pattern_edges(pattern: str) -> list[tuple[str, str, str]]:
    edges = []
    for part in pattern.split("; "):
        match = _EDGE_TEXT.fullmatch(part)
        if match is None:
            raise DataError(f"not a subgraph pattern edge: {part!r}")
        src, op, dst = match.groups()
        edges.append((src, op, dst))
    return edges


def pattern_to_networkx(pattern: str) -> nx.DiGraph:
    """The DAG of a mined ``pattern`` string, for drawing it as in Fig. 7; nodes carry a ``label``, edges an ``op``."""
    graph = nx.DiGraph()
    for src, op, dst in _pattern_edges(pattern):
        for node in (src, dst):
            graph.add_node(node, label="node" if re.fullmatch(r"n\d+", node) else node)
        graph.add_edge(src, dst, op=op)
    return graph
