"""Where each operation of an architecture sits: its position key, cell, wiring and primitive.

The analyses address operations the way the spaces do (``space.positions(arch)``); this module turns a
position into the facts the papers group by (primitive, normal/reduce cell, source and target node).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from nasaudit.errors import SpaceError
from nasaudit.spaces.darts import DartsGenotype
from nasaudit.spaces.nb201 import N_NODES, NB201_EDGES, NB201Arch

#: the ``cell`` value of single-cell spaces (NB201)
SINGLE_CELL = "cell"


@dataclass(frozen=True)
class Operation:
    """One operation: ``op`` on the connection ``src -> dst`` of ``cell``, at ``position``."""

    position: Hashable
    cell: str
    src: int
    dst: int
    op: str


def operations(arch: Any) -> list[Operation]:
    """All operations of an NB201 cell or a DARTS genotype (redundancy paper Sec. 2, App. D), in position order."""
    if isinstance(arch, NB201Arch):
        return [Operation(k, SINGLE_CELL, s, d, op) for k, ((s, d), op) in enumerate(zip(NB201_EDGES, arch.ops,
                                                                                          strict=True))]
    if isinstance(arch, DartsGenotype):
        out = []
        for cell_type in ("normal", "reduce"):
            for k, (src, dst, op) in enumerate(arch.cell(cell_type).triples()):
                out.append(Operation((cell_type, k), cell_type, src, dst, op))
        return out
    raise SpaceError(
        f"operation-level analyses support NB201 and DARTS architectures, not {type(arch).__name__}"
    )


def input_nodes(arch: Any) -> tuple[int, ...]:
    """The cell's input nodes (Sec. 2, App. D): NB201 has one (0), DARTS two (0: c_{k-2}, 1: c_{k-1})."""
    if isinstance(arch, NB201Arch):
        return (0,)
    if isinstance(arch, DartsGenotype):
        return (0, 1)
    raise SpaceError(f"unknown cell inputs for {type(arch).__name__}")


def output_node(arch: Any) -> int | None:
    """The node that is the cell output itself (NB201's node 3, App. D); ``None`` where the output is a concat."""
    return N_NODES - 1 if isinstance(arch, NB201Arch) else None
