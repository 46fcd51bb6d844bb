"""Weight-sharing supernets built from the stand-alone networks' own cell code (``nasaudit.nn.cells``).

A supernet puts every candidate op of the (possibly op-masked) space on every edge of the same
``NB201CellModule`` / ``DartsCellModule`` the stand-alone networks use, through an edge factory, and
stacks the cells in the same macro network (``NB201Network``, ``DartsNetworkCIFAR``). Two edge forms:

* ``ChoiceOp`` (single path, SPOS: Guo et al., 2020; single-path paper Sec. 3.3): the edge runs one
  candidate per step. ``forward(x, path)`` takes a *path*, an int array ``(n_cells, n_edges)`` of
  candidate indices, one row per cell in network order, so cells may follow different topologies
  (single-path paper Sec. 4.3, "topology sharing"); ``encode(arch)`` gives the path in which every
  cell follows ``arch``. A ``(batch, n_cells, n_edges)`` array gives every sample its own path.
* ``MixedOp`` (DARTS, Liu et al., 2019, Sec. 2.2): the edge sums all candidates weighted by
  architecture weights. ``forward(x, weights)`` takes one ``(n_edges, n_candidates)`` tensor shared
  by all cells (of each type, for DARTS: ``{"normal": ..., "reduce": ...}``).

Linear transformers (single-path paper Sec. 4.2, after Chu et al., 2019a) replace a skip candidate by
a linear 1x1 convolution and append one to a pooling candidate; they exist only in the supernet.
A DARTS edge that a genotype leaves out runs the extra candidate ``none`` (zeros).
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from nasaudit.errors import ArchitectureError, ConfigError
from nasaudit.nn.cells import DartsCellModule, Edge, NB201CellModule
from nasaudit.nn.darts_net import DartsNetworkCIFAR
from nasaudit.nn.nb201_net import NB201Network
from nasaudit.nn.ops import get_op
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsGenotype, DartsSpace
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch, NB201Space

Mode = Literal["single", "mixed"]
#: where linear transformers may go (single-path paper Sec. 4.2: "LT={Skip}", "LT={Skip, Pool}")
LT_PLACES: tuple[str, ...] = ("skip", "pool")
_POOLS = ("avg_pool_3x3", "max_pool_3x3", "maxpool3x3")


def candidate_op(name: str, edge: Edge, linear_transformers: Sequence[str] = (), affine: bool = True) -> nn.Module:
    """One candidate of an edge: ``get_op(name)``, with a linear transformer on skip / pooling if asked
    (single-path paper Sec. 4.2)."""
    if "skip" in linear_transformers and name == "skip_connect":
        return get_op("linear_transformer", edge.c_in, edge.c_out, edge.stride, affine)
    op = get_op(name, edge.c_in, edge.c_out, edge.stride, affine)
    if "pool" in linear_transformers and name in _POOLS:
        return nn.Sequential(op, get_op("linear_transformer", edge.c_out, edge.c_out, 1, affine))
    return op


class ChoiceOp(nn.Module):
    """A single-path edge of cell ``cell_index``: runs ``candidates[choices[cell_index]]`` (SPOS).

    ``choices[cell_index]`` is one candidate index, or one per sample of the batch: then every
    candidate runs once on the samples that chose it (many architectures in one forward pass; exact
    in eval mode, where batch norm treats samples independently).
    """

    def __init__(self, candidates: Sequence[nn.Module], cell_index: int) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(candidates)
        self.cell_index = cell_index

    def forward(self, x: torch.Tensor, choices: np.ndarray) -> torch.Tensor:
        choice = choices[self.cell_index]
        if np.ndim(choice) == 0:
            return self.candidates[int(choice)](x)
        out: torch.Tensor | None = None
        for index in np.unique(choice):
            rows = torch.from_numpy(np.flatnonzero(choice == index)).to(x.device)
            y = self.candidates[int(index)](x.index_select(0, rows))
            if out is None:
                out = y.new_zeros((x.shape[0], *y.shape[1:]))
            out.index_copy_(0, rows, y)
        return out if out is not None else self.candidates[0](x)  # an empty batch


class MixedOp(nn.Module):
    """A DARTS mixed edge: ``sum_i weights[i] * candidates[i](x)`` (Liu et al., 2019, eq. 1)."""

    def __init__(self, candidates: Sequence[nn.Module]) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(candidates)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(w * op(x) for w, op in zip(weights, self.candidates, strict=True))


class Supernet(nn.Module, ABC):
    """A weight-sharing network over every architecture of ``space`` (module doc)."""

    space: Any
    mode: Mode
    n_cells: int
    #: candidate op names of each cell (rows of a path index into these)
    cell_candidates: list[list[tuple[str, ...]]]

    @abstractmethod
    def encode(self, arch: Any) -> np.ndarray:
        """The path ``(n_cells, n_edges)`` in which every cell follows ``arch`` (topology shared)."""

    def encode_many(self, archs: Sequence[Any]) -> np.ndarray:
        """Paths of many architectures, shape ``(len(archs), n_cells, n_edges)``."""
        return np.stack([self.encode(a) for a in archs]) if archs else np.empty((0, self.n_cells, 0), np.int64)

    def n_candidates(self) -> np.ndarray:
        """Number of candidates of every (cell, edge), shape ``(n_cells, n_edges)``."""
        return np.array([[len(c) for c in cell] for cell in self.cell_candidates], dtype=np.int64)

    def _check_mode(self, mode: str) -> None:
        if self.mode != mode:
            raise ConfigError(f"this supernet was built in {self.mode!r} mode; it cannot run a {mode!r} forward")


def _edge_module(mode: Mode, names: Sequence[str], edge: Edge, cell_index: int,
                 linear_transformers: Sequence[str], affine: bool) -> nn.Module:
    candidates = [candidate_op(n, edge, linear_transformers, affine) for n in names]
    return ChoiceOp(candidates, cell_index) if mode == "single" else MixedOp(candidates)


def _check_options(mode: str, linear_transformers: Sequence[str]) -> tuple[str, ...]:
    if mode not in ("single", "mixed"):
        raise ConfigError(f"supernet mode must be 'single' or 'mixed', got {mode!r}")
    unknown = sorted(set(linear_transformers) - set(LT_PLACES))
    if unknown:
        raise ConfigError(f"linear transformers go on {list(LT_PLACES)}, not {unknown}")
    return tuple(linear_transformers)


class NB201Supernet(Supernet):
    """The NB201 macro network (``NB201Network``) with a choice or mixed op on all six edges of every cell.

    Single-path paper Sec. 3.3: size S is 2 cells per stage and 32 channels, M 4 cells and 64.
    """

    def __init__(self, space: NB201Space, *, num_classes: int, in_channels: int = 3, channels: int = 32,
                 cells_per_stage: int = 2, mode: Mode = "single", linear_transformers: Sequence[str] = (),
                 affine: bool = True) -> None:
        super().__init__()
        self.space, self.mode = space, mode
        lts = _check_options(mode, linear_transformers)
        self.linear_transformers = lts
        self._index = {op: i for i, op in enumerate(space.ops)}
        cells: list[int] = []

        def cell(c: int) -> nn.Module:
            index = len(cells)
            cells.append(index)
            return NB201CellModule(NB201_EDGES, 4, c, lambda e: _edge_module(mode, space.ops, e, index, lts, affine))

        self.network = NB201Network(cell, num_classes=num_classes, in_channels=in_channels, channels=channels,
                                    cells_per_stage=cells_per_stage)
        self.n_cells = len(cells)
        self.cell_candidates = [[tuple(space.ops)] * len(NB201_EDGES) for _ in cells]

    def encode(self, arch: NB201Arch) -> np.ndarray:
        """Candidate index of each edge op, repeated for every cell."""
        self.space.validate(arch)
        row = np.array([self._index[op] for op in arch.ops], dtype=np.int64)
        return np.broadcast_to(row, (self.n_cells, len(row))).copy()

    def forward(self, x: torch.Tensor, choice: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Logits of the path ``choice`` (single mode; one path or one per sample) or of weights
        ``(6, n_ops)`` (mixed mode)."""
        if self.mode == "single":
            return self.network(x, np.asarray(choice).T)
        return self.network(x, choice)


def darts_edges(n_nodes: int) -> list[tuple[int, int]]:
    """Every candidate edge ``(src, dst)`` of a DARTS cell in DARTS order (``DartsSpace.mixed_edge``)."""
    return [(src, node + 2) for node in range(n_nodes) for src in range(node + 2)]


class DartsSupernet(Supernet):
    """The DARTS search network (``DartsNetworkCIFAR``, no auxiliary head) with every candidate edge of
    every cell (Liu et al., 2019, Sec. 2.1-2.2; defaults: 16 channels, 8 cells as in the DARTS search)."""

    def __init__(self, space: DartsSpace, *, num_classes: int, in_channels: int = 3, channels: int = 16,
                 layers: int = 8, mode: Mode = "single", linear_transformers: Sequence[str] = (),
                 affine: bool = True) -> None:
        super().__init__()
        self.space, self.mode = space, mode
        lts = _check_options(mode, linear_transformers)
        self.linear_transformers = lts
        edges = darts_edges(space.n_nodes)
        # single path: candidate "none" switches off an edge the genotype does not use
        self.candidates = {
            c: [tuple(ops) + (("none",) if mode == "single" and "none" not in ops else ()) for ops in per_edge]
            for c, per_edge in space.candidate_ops.items()
        }
        self.cell_types: list[str] = []

        def cell(cell_type: str, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> nn.Module:
            index = len(self.cell_types)
            self.cell_types.append(cell_type)
            names = self.candidates[cell_type]
            return DartsCellModule(edges, space.concat, space.n_nodes, c_pp, c_p, c, reduction, reduction_prev,
                                   lambda e: _edge_module(mode, names[e.index], e, index, lts, affine), affine)

        self.network = DartsNetworkCIFAR(cell, num_classes=num_classes, in_channels=in_channels,
                                         channels=channels, layers=layers, auxiliary=False)
        self.n_cells = len(self.cell_types)
        self.cell_candidates = [self.candidates[t] for t in self.cell_types]

    def encode_cell(self, arch: DartsGenotype, cell_type: str) -> np.ndarray:
        """Candidate index per edge of one cell type; unused edges get ``none``."""
        self._check_mode("single")
        names = self.candidates[cell_type]
        row = np.array([ops.index("none") for ops in names], dtype=np.int64)
        for src, dst, op in arch.cell(cell_type).triples():
            row[self.space.mixed_edge(dst - 2, src)] = names[self.space.mixed_edge(dst - 2, src)].index(op)
        return row

    def encode(self, arch: DartsGenotype) -> np.ndarray:
        self.space.validate(arch)
        rows = {c: self.encode_cell(arch, c) for c in CELL_TYPES}
        return np.stack([rows[t] for t in self.cell_types])

    def forward(self, x: torch.Tensor, choice: np.ndarray | dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits of the path ``choice`` (single mode; one path or one per sample) or of
        ``{"normal": w, "reduce": w}`` (mixed mode)."""
        if self.mode == "single":
            columns = np.asarray(choice).T
            return self.network(x, {c: columns for c in CELL_TYPES})
        return self.network(x, choice)


def build_supernet(space: SearchSpace, *, num_classes: int, in_channels: int = 3, mode: Mode = "single",
                   linear_transformers: Sequence[str] = (), **macro: Any) -> Supernet:
    """The supernet of ``space`` (NB201 or DARTS-like; module doc); ``macro`` sets its width and depth."""
    if not isinstance(space, (NB201Space, DartsSpace)):
        raise ArchitectureError(f"no supernet is known for space {getattr(space, 'name', space)!r}; "
                                "supported: NB201 and DARTS-like spaces (NB101 cells take no edge factory)")
    target = NB201Supernet if isinstance(space, NB201Space) else DartsSupernet
    allowed = set(inspect.signature(target.__init__).parameters) - {"self", "space", "num_classes", "in_channels",
                                                                     "mode", "linear_transformers"}
    unknown = sorted(set(macro) - allowed)
    if unknown:
        raise ConfigError(f"unknown supernet option(s) {unknown}; valid: {sorted(allowed)}")
    return target(space, num_classes=num_classes, in_channels=in_channels, mode=mode,
                  linear_transformers=linear_transformers, **macro)
