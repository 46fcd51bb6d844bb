"""Cell width and depth, and random connection / operation variants (architectures paper Sec. 3.2, App. A.2).

* **Depth**: the number of connections on the longest path from an input node to the output node (a
  DARTS cell's output is the concatenation of its ``concat`` nodes, one connection each).
* **Width**: the total width of the intermediate nodes connected to the input nodes, each node of
  width ``c``; a node with only some of its connections from inputs counts the fraction of its
  connections that come from inputs. Widths are reported in units of ``c``.

DARTS-V2's normal cell is 3.5c wide and 3 deep, AmoebaNet's 4c and 4 (Sec. 3.2, Fig. 1).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from nasaudit.errors import SpaceError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.darts import DARTS_OPS, DartsCell, DartsGenotype
from nasaudit.spaces.nb201 import N_NODES, NB201Arch

DARTS_INPUTS = (0, 1)
DISABLED_OP = "none"
#: draws allowed per requested variant before giving up on finding distinct ones
_ATTEMPTS_PER_VARIANT = 200


@dataclass(frozen=True)
class CellShape:
    """Width (in units of the node width ``c``) and depth (connections) of a cell."""

    width: float
    depth: int


def cell_shape(cell: DartsCell | DartsGenotype | NB201Arch, cell_type: str = "normal") -> CellShape:
    """Width and depth of a DARTS-style cell (or one cell of a genotype) or an NB201 cell (Sec. 3.2).

    DARTS-style cells may come from outside the DARTS space (e.g. NASNet's five nodes, AmoebaNet's
    concatenation of loose ends): every ``(op, input)`` pair is a connection. In an NB201 cell node 0
    is the input, node 3 the output and ``none`` edges are no connections.
    """
    if isinstance(cell, DartsGenotype):
        cell = cell.cell(cell_type)
    if isinstance(cell, DartsCell):
        connections = [(src, dst) for src, dst, _ in cell.triples()]
        n_out = cell.n_nodes + 2
        connections += [(node, n_out) for node in cell.concat]
        return _shape(connections, inputs=DARTS_INPUTS, output=n_out)
    if isinstance(cell, NB201Arch):
        connections = [(src, dst) for src, dst, op in cell.edges() if op != DISABLED_OP]
        return _shape(connections, inputs=(0,), output=N_NODES - 1)
    raise SpaceError(f"cell width and depth need a DARTS cell/genotype or an NB201 cell, not {type(cell).__name__}")


def _shape(connections: Sequence[tuple[int, int]], inputs: Sequence[int], output: int) -> CellShape:
    for src, dst in connections:
        if src >= dst:
            raise SpaceError(f"connection {src} -> {dst} does not go forward; a cell must be a DAG in node order")
    width = 0.0
    for node in sorted({dst for _, dst in connections} - {output}):
        incoming = [src for src, dst in connections if dst == node]
        width += sum(src in inputs for src in incoming) / len(incoming)
    longest: dict[int, int] = dict.fromkeys(inputs, 0)
    for src, dst in sorted(connections, key=lambda c: c[1]):
        if src in longest:
            longest[dst] = max(longest.get(dst, 0), longest[src] + 1)
    return CellShape(width=width, depth=longest.get(output, 0))


def random_connection_variants(
    cell: DartsCell, n: int, seed: SeedLike, distinct_inputs: bool = True
) -> list[DartsCell]:
    """``n`` distinct rewirings of ``cell`` (App. A.2): same nodes and ops, sources drawn uniformly.

    Each connection of intermediate node ``i`` gets a source drawn uniformly from the nodes before it;
    ``distinct_inputs`` keeps the DARTS rule that a node's two connections come from different nodes.
    The original wiring is never returned. An int ``seed`` gives each base cell its own stream
    (``cell_stream``).
    """
    rng = cell_stream(seed, cell)

    def draw() -> DartsCell:
        edges: list[tuple[str, int]] = []
        for node in range(cell.n_nodes):
            pair = cell.edges[2 * node:2 * node + 2]
            sources = rng.choice(node + 2, size=len(pair), replace=not distinct_inputs)
            edges.extend((op, int(src)) for (op, _), src in zip(pair, sources, strict=True))
        return DartsCell(tuple(edges), cell.concat)

    return _distinct(draw, cell, n)


def random_operation_variants(cell: DartsCell, n: int, seed: SeedLike,
                              ops: Sequence[str] = DARTS_OPS) -> list[DartsCell]:
    """``n`` distinct re-labellings of ``cell`` (App. A.2): same wiring, each op drawn uniformly from ``ops``.

    An int ``seed`` gives each base cell its own stream (``cell_stream``).
    """
    if not ops:
        raise SpaceError("random operation variants need at least one candidate op")
    rng = cell_stream(seed, cell)

    def draw() -> DartsCell:
        picks = rng.integers(len(ops), size=len(cell.edges))
        return DartsCell(tuple((ops[i], src) for i, (_, src) in zip(picks, cell.edges, strict=True)), cell.concat)

    return _distinct(draw, cell, n)


def cell_stream(seed: SeedLike, cell: DartsCell) -> np.random.Generator:
    """The random stream of one base cell: an int ``seed`` is combined with a stable hash of the cell, so
    that different base cells drawn with the same seed get different variants; a Generator passes through."""
    if isinstance(seed, np.random.Generator):
        return seed
    as_generator(seed)  # validates the int
    key = zlib.crc32(repr((cell.edges, cell.concat)).encode())
    return np.random.default_rng(np.random.SeedSequence([int(seed), key]))


def _distinct(draw: Callable[[], DartsCell], original: DartsCell, n: int) -> list[DartsCell]:
    if n < 0:
        raise SpaceError(f"number of variants must be non-negative, got {n}")
    seen = {original.sorted()}
    out: list[DartsCell] = []
    for _ in range(_ATTEMPTS_PER_VARIANT * max(n, 1)):
        if len(out) == n:
            break
        variant = draw()
        if variant.sorted() not in seen:
            seen.add(variant.sorted())
            out.append(variant)
    if len(out) < n:
        raise SpaceError(f"found only {len(out)} distinct variants of the cell, {n} requested")
    return out


def shape_table(cells: Mapping[str, DartsCell | DartsGenotype | NB201Arch], cell_type: str = "normal") -> pd.DataFrame:
    """Width and depth of named cells, one row each (columns ``name, width, depth, cell``)."""
    rows = []
    for name, cell in cells.items():
        shape = cell_shape(cell, cell_type)
        rows.append({"name": name, "width": shape.width, "depth": shape.depth, "cell": _cell_text(cell, cell_type)})
    return pd.DataFrame(rows, columns=["name", "width", "depth", "cell"]).astype({"width": np.float64})


def _cell_text(cell: DartsCell | DartsGenotype | NB201Arch, cell_type: str) -> str:
    if isinstance(cell, DartsGenotype):
        cell = cell.cell(cell_type)
    if isinstance(cell, DartsCell):
        return f"{[list(e) for e in cell.edges]} concat={list(cell.concat)}"
    return str(cell)
