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

``PrimSkipSpace`` is one group as a search space (redundancy paper App. H: NAS run inside the PrimSkip space):
samples are the group's, moves are the base space's one-step changes that stay in the group.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.seeding import SeedLike, as_generator
from nasaudit.spaces.base import SearchSpace, position_error
from nasaudit.spaces.darts import CELL_TYPES, DartsCell, DartsGenotype, DartsSpace
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch, NB201Space
from nasaudit.spaces.subset import PartOfSpace

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
        return self.holds(self.space.coerce(arch))

    def holds(self, arch: NB201Arch | DartsGenotype) -> bool:
        """``satisfied`` for an architecture value already valid in the space (no validation: the base space's
        moves, which ``PrimSkipSpace.neighbours`` filters by the thousand)."""
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


class PrimSkipSpace(PartOfSpace):
    """The PrimSkip ``group`` of an NB201 or DARTS ``base`` space as a search space (redundancy paper App. H).

    ``name``, ``family``, strings, keys, graphs and encodings are the base space's; ``ops`` are the ops the
    group uses. Sampling is ``PrimSkip.sample`` (uniform over the group); ``neighbours`` are the base space's
    one-step changes that stay in the group, i.e. changes of the free operations only (the Skip edges are
    fixed), and ``positions`` are those free operations. A group the base space cannot hold (an op, or the
    residual skip, not allowed where the group needs it) is a ``SpaceError``.
    """

    def __init__(self, base: SearchSpace, group: str) -> None:
        super().__init__(base)
        self.constraint = PrimSkip(base, group)
        self.group = group
        allowed = set(self.constraint.free_ops or base.ops) | ({SKIP_OP} if self.constraint.skip else set())
        self.ops = tuple(op for op in base.ops if op in allowed)
        if isinstance(base, DartsSpace) and self.constraint.skip:
            for cell_type in CELL_TYPES:
                for src in (0, 1):
                    if SKIP_OP not in base.selectable(cell_type, 0, src):
                        raise SpaceError(f"space {base.name!r} does not allow {SKIP_OP} on edge {src} -> 2 of the "
                                         f"{cell_type} cell, which the {group!r} group wires")
        try:
            base.validate(self.constraint.sample(0))
        except (SpaceError, ArchitectureError) as err:
            raise SpaceError(f"the {group!r} group cannot be drawn in space {base.name!r}: {err}") from None

    def __repr__(self) -> str:
        return f"PrimSkipSpace({self.base!r}, group={self.group!r})"

    def holds(self, arch: Any) -> bool:
        return self.constraint.holds(arch)

    def outside(self, arch: Any) -> str:
        return f"{self.base.format(arch)} is not in the {self.group!r} group of {self.base.name!r}"

    @property
    def size(self) -> int:
        return self.constraint.size

    def _enumerate(self) -> Iterator[Any]:
        if isinstance(self.base, NB201Space):
            per_edge = [(SKIP_OP,) if self.constraint.skip and k == NB201_SKIP_EDGE else self._free
                        for k in range(len(NB201_EDGES))]
            return (NB201Arch(ops) for ops in itertools.product(*per_edge))
        assert isinstance(self.base, DartsSpace)
        reduce_cells = list(self._darts_cells(self.base, "reduce"))
        return (DartsGenotype(normal, reduce) for normal in self._darts_cells(self.base, "normal")
                for reduce in reduce_cells)

    @property
    def _free(self) -> tuple[str, ...]:
        """The ops of the free operations, in the base space's order."""
        free = self.constraint.free_ops or self.base.ops
        return tuple(op for op in self.base.ops if op in free)

    def _darts_cells(self, base: DartsSpace, cell_type: str) -> Iterator[DartsCell]:
        per_node: list[list[tuple[tuple[str, int], tuple[str, int]]]] = []
        for node in range(base.n_nodes):
            if node == 0 and self.constraint.skip:
                per_node.append([DARTS_SKIP_EDGES])
                continue
            options = base.node_options(cell_type, node, self._free)
            per_node.append([((op_a, a), (op_b, b)) for a, b in itertools.combinations(range(node + 2), 2)
                             for op_a in options[a] for op_b in options[b]])
        for combo in itertools.product(*per_node):
            yield DartsCell(tuple(edge for pair in combo for edge in pair), base.concat)

    def sample(self, seed: SeedLike) -> Any:
        return self.constraint.sample(seed)

    def positions(self, arch: Any) -> list[Hashable]:
        """The free operations: every operation of the base space but the Skip constraint's fixed edges."""
        fixed: set[Hashable] = set()
        if self.constraint.skip:
            fixed = {NB201_SKIP_EDGE} if isinstance(self.base, NB201Space) else {(c, k) for c in CELL_TYPES
                                                                                 for k in (0, 1)}
        return [p for p in self.base.positions(arch) if p not in fixed]

    def _check_position(self, arch: Any, position: Hashable | None) -> None:
        """A fixed operation of the Skip constraint is not a position of the group."""
        if position is not None and position not in (valid := self.positions(arch)):
            raise position_error(f"{self.name} ({self.group})", position, valid)

    def restrict(self, ops: Sequence[str]) -> PrimSkipSpace:
        """The group in the base space restricted to ``ops`` (PrimSkip needs its ops: dropping one is refused)."""
        kept = self._check_restriction(ops, self.ops)
        return PrimSkipSpace(self.base.restrict(kept), self.group)

    def describe(self) -> dict[str, Any]:
        return {**self.base.describe(), "ops": list(self.ops), "size": self.size, "group": self.group,
                "constrained_from": self.base.size}
