"""The PrimSkip constraint of the redundancy paper (Sec. 4 for DARTS, App. D for NB201).

* **Skip**: the cell contains the residual link. DARTS: intermediate node 2 takes ``skip_connect`` from
  both inputs (in the normal and the reduce cell: "the same rule for both"); NB201: ``skip_connect``
  on edge 0 -> 3, the only way to form a residual there.
* **Prim**: every other operation is drawn from the convolutions ``{sep_conv_3x3, sep_conv_5x5}``
  (DARTS) or ``{nor_conv_1x1, nor_conv_3x3}`` (NB201).

The four groups of Fig. 10 / Fig. 16: ``random`` (no constraint), ``skip`` (Skip only, the rest
unconstrained), ``prim`` (Prim only: as Fig. 10's caption says, ops from the Prim set plus
``skip_connect``, wired freely) and ``primskip`` (both). Samples are uniform over the freedom each
group leaves (wiring of the other nodes and the choice among the allowed ops).
"""

from __future__ import annotations

import math
from typing import Any

from nasaudit.errors import SpaceError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsCell, DartsGenotype, DartsSpace
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch, NB201Space

PRIMSKIP_GROUPS: tuple[str, ...] = ("random", "skip", "prim", "primskip")
SKIP_OP = "skip_connect"
DARTS_PRIMS: tuple[str, ...] = ("sep_conv_3x3", "sep_conv_5x5")
NB201_PRIMS: tuple[str, ...] = ("nor_conv_1x1", "nor_conv_3x3")
#: NB201's residual edge 0 -> 3
NB201_SKIP_EDGE = NB201_EDGES.index((0, 3))
#: DARTS's residual node: intermediate node 2 (the first), wired to both inputs
DARTS_SKIP_EDGES: tuple[tuple[str, int], tuple[str, int]] = ((SKIP_OP, 0), (SKIP_OP, 1))


class PrimSkip:
    """Sampler and membership test for one PrimSkip group of an NB201 or DARTS space."""

    def __init__(self, space: SearchSpace, group: str) -> None:
        if group not in PRIMSKIP_GROUPS:
            raise SpaceError(f"unknown PrimSkip group {group!r}; choose from {list(PRIMSKIP_GROUPS)}")
        if isinstance(space, NB201Space):
            self.prims = NB201_PRIMS
        elif isinstance(space, DartsSpace):
            self.prims = DARTS_PRIMS
        else:
            raise SpaceError(f"PrimSkip is defined for NB201 and DARTS spaces, not {space.name!r}")
        needed = set(self.prims) | {SKIP_OP}
        if group != "random" and not needed <= set(space.ops):
            raise SpaceError(
                f"space {space.name!r} lacks op(s) {sorted(needed - set(space.ops))} that PrimSkip needs"
            )
        self.space = space
        self.group = group
        self.skip_op = SKIP_OP
        self.skip = group in ("skip", "primskip")
        self.prim = group in ("prim", "primskip")

    def __repr__(self) -> str:
        return f"PrimSkip(space={self.space.name!r}, group={self.group!r})"

    @property
    def free_ops(self) -> tuple[str, ...] | None:
        """Ops allowed on the unconstrained operations (``None``: all of the space's ops)."""
        if not self.prim:
            return None
        return self.prims if self.skip else (*self.prims, SKIP_OP)

    # ------------------------------------------------------------------------------- sampling
    def sample(self, seed: SeedLike) -> Any:
        """One architecture drawn uniformly from this group."""
        rng = as_generator(seed)
        if isinstance(self.space, NB201Space):
            return self._sample_nb201(rng)
        space = self.space
        return DartsGenotype(*(self._sample_darts_cell(space, c, rng) for c in CELL_TYPES))

    def sample_many(self, n: int, seed: SeedLike) -> list[Any]:
        """``n`` independent draws, reproducible from ``seed``."""
        rng = as_generator(seed)
        return [self.sample(rng) for _ in range(n)]

    def _sample_nb201(self, rng: Any) -> NB201Arch:
        ops = self.free_ops or self.space.ops
        picks = [ops[i] for i in rng.integers(len(ops), size=len(NB201_EDGES))]
        if self.skip:
            picks[NB201_SKIP_EDGE] = SKIP_OP
        return NB201Arch(tuple(picks))

    def _sample_darts_cell(self, space: DartsSpace, cell_type: str, rng: Any) -> DartsCell:
        cell = space.sample_cell(cell_type, rng, ops=self.free_ops)
        if self.skip:
            cell = DartsCell(DARTS_SKIP_EDGES + cell.edges[2:], cell.concat)
        return cell

    # ------------------------------------------------------------------------------- membership
    def satisfied(self, arch: Any) -> bool:
        """Whether ``arch`` (arch value or string) belongs to this group."""
        arch = self.space.coerce(arch)
        if isinstance(arch, NB201Arch):
            free = [op for k, op in enumerate(arch.ops) if not (self.skip and k == NB201_SKIP_EDGE)]
            skip_ok = not self.skip or arch.ops[NB201_SKIP_EDGE] == SKIP_OP
            return skip_ok and (self.free_ops is None or all(op in self.free_ops for op in free))
        return all(self._darts_cell_ok(arch.cell(c)) for c in CELL_TYPES)

    def _darts_cell_ok(self, cell: DartsCell) -> bool:
        if self.skip and sorted(cell.edges[:2], key=lambda e: e[1]) != list(DARTS_SKIP_EDGES):
            return False
        free = cell.edges[2:] if self.skip else cell.edges
        return self.free_ops is None or all(op in self.free_ops for op, _ in free)

    # ------------------------------------------------------------------------------- size
    @property
    def size(self) -> int:
        """Exact number of architectures in this group."""
        if isinstance(self.space, NB201Space):
            n_ops = len(self.free_ops or self.space.ops)
            return n_ops ** (len(NB201_EDGES) - 1) if self.skip else n_ops ** len(NB201_EDGES)
        return math.prod(self.space.cell_count(c, self.free_ops, first_node=1 if self.skip else 0) for c in CELL_TYPES)
