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

``NB101Supernet`` (single path only; search-phase paper Sec. 3.2 and 4.3, reduced NB101 spaces with
weight sharing) puts ops on vertices, not edges: each interior vertex of a ``max_vertices`` cell holds
a ``ChoiceOp`` over the space's ops and the cell is the full upper-triangular DAG, each edge switched
on or off by the architecture's adjacency matrix (padded NB101-style: the output stays the last vertex).
NB101 vertex widths depend on the matrix (``vertex_channels``), so every convolution and projection
holds full-width weights of which a path uses the leading slice (``SlicedConvBNReLU``); a path is then
exactly the stand-alone ``NB101Network`` with those weight slices.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from nasaudit.errors import ArchitectureError, ConfigError
from nasaudit.nn.cells import DartsCellModule, Edge, NB201CellModule
from nasaudit.nn.darts_net import DartsNetworkCIFAR
from nasaudit.nn.nb101_net import NB101Network, nb101_cell_forward, vertex_channels
from nasaudit.nn.nb201_net import NB201Network
from nasaudit.nn.ops import get_op
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsGenotype, DartsSpace
from nasaudit.spaces.nb101 import NB101Arch, NB101Space
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch, NB201Space

Mode = Literal["single", "mixed"]
#: where linear transformers may go (single-path paper Sec. 4.2: "LT={Skip}", "LT={Skip, Pool}")
LT_PLACES: tuple[str, ...] = ("skip", "pool")
_POOLS = ("avg_pool_3x3", "max_pool_3x3", "maxpool3x3")


def candidate_op(name: str, edge: Edge, linear_transformers: Sequence[str] = (), affine: bool = True,
                 pool_norm: bool = False) -> nn.Module:
    """One candidate of an edge: ``get_op(name)``, with a linear transformer on skip / pooling if asked
    (single-path paper Sec. 4.2).

    ``pool_norm`` puts ``BatchNorm2d(C, affine=False)`` after a pooling candidate, as the DARTS search
    network's ``MixedOp`` does (quark0/darts@8876e793763398e3ee62ac1823fa0a3c14e8c2c5, cnn/model_search.py;
    the same in ruocwang/darts-pt@4ec3149dea0d77efd8e4c118f578b454dad5e0ac, sota/cnn/model_search.py, and
    xiangning-chen/SmoothDARTS@d3dbfed06643d5fd4056edd90891ec9109634ada, sota/cnn/model_search.py): without
    it a parameter-free pool's output scale differs from the batch-normalised convolutions it is mixed with.
    The normalisation is non-affine whatever ``affine`` says, as there.
    """
    if "skip" in linear_transformers and name == "skip_connect":
        return get_op("linear_transformer", edge.c_in, edge.c_out, edge.stride, affine)
    op = get_op(name, edge.c_in, edge.c_out, edge.stride, affine)
    if pool_norm and name in _POOLS:
        op = nn.Sequential(op, nn.BatchNorm2d(edge.c_out, affine=False))
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
        assert out is not None  # two or more groups ran
        return out if out is not None else self.candidates[0](x)  # an empty batch


class SampledWeights(NamedTuple):
    """Hard one-hot weights of an edge with one sampled candidate ``choice`` (GDAS, Dong & Yang, 2019, Sec. 3.2):
    ``MixedOp`` runs only that candidate; the others add their (zero-valued) weight, which keeps their gradient."""

    weights: torch.Tensor
    choice: int


class MixedOp(nn.Module):
    """A DARTS mixed edge: ``sum_i weights[i] * candidates[i](x)`` (Liu et al., 2019, eq. 1)."""

    def __init__(self, candidates: Sequence[nn.Module]) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(candidates)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | SampledWeights) -> torch.Tensor:
        if isinstance(weights, SampledWeights):
            return sum(w * op(x) if i == weights.choice else w
                       for i, (w, op) in enumerate(zip(weights.weights, self.candidates, strict=True)))
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
                 linear_transformers: Sequence[str], affine: bool, pool_norm: bool = False) -> nn.Module:
    candidates = [candidate_op(n, edge, linear_transformers, affine, pool_norm) for n in names]
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
    every cell (Liu et al., 2019, Sec. 2.1-2.2; defaults: 16 channels, 8 cells as in the DARTS search).

    Mixed mode is the search network of quark0/darts@8876e793763398e3ee62ac1823fa0a3c14e8c2c5
    (cnn/model_search.py) and DARTS-PT (ruocwang/darts-pt@4ec3149dea0d77efd8e4c118f578b454dad5e0ac,
    sota/cnn/model_search.py): every pooling candidate is followed by a non-affine batch norm
    (``candidate_op``'s ``pool_norm``). Single mode leaves it out on purpose: a single path is the
    stand-alone network (``DartsNetworkCIFAR`` of the genotype), whose pools have none. (The NB201
    supernet has no such norm in either mode, as AutoDL's NB201 search cell,
    D-X-Y/AutoDL-Projects@f46486e21b71ae6459a700be720d7648b5429569, xautodl/models/cell_searchs/search_cells.py.)
    """

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

        def cell(cell_type: str, c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool) -> DartsCellModule:
            index = len(self.cell_types)
            self.cell_types.append(cell_type)
            names = self.candidates[cell_type]
            return DartsCellModule(edges, space.concat, space.n_nodes, c_pp, c_p, c, reduction, reduction_prev,
                                   lambda e: _edge_module(mode, names[e.index], e, index, lts, affine,
                                                          pool_norm=mode == "mixed"), affine)

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


class SlicedConvBNReLU(nn.Sequential):
    """``ConvBNReLU`` (same parameter names) whose forward uses the leading ``c_out`` filters over the
    input's channels: one set of full-width weights serves every NB101 vertex width (module doc)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, affine: bool = True) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, kernel, 1, kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out, affine=affine), nn.ReLU(inplace=False))

    def forward(self, x: torch.Tensor, c_out: int | None = None) -> torch.Tensor:
        conv, bn = self[0], self[1]
        assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
        width = x.shape[1] if c_out is None else c_out
        y = F.conv2d(x, conv.weight[:width, :x.shape[1]], None, conv.stride, conv.padding)
        # nn.BatchNorm2d.forward on the first ``width`` channels (running stats updated in place)
        factor = 0.0 if bn.momentum is None else bn.momentum
        if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
            bn.num_batches_tracked.add_(1)
            factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
        use_batch = bn.training or bn.running_mean is None
        track = not bn.training or bn.track_running_stats
        y = F.batch_norm(y, bn.running_mean[:width] if track and bn.running_mean is not None else None,
                         bn.running_var[:width] if track and bn.running_var is not None else None,
                         bn.weight[:width] if bn.weight is not None else None,
                         bn.bias[:width] if bn.bias is not None else None, use_batch, factor, bn.eps)
        return F.relu(y)


def _nb101_candidate(name: str, channels: int, affine: bool) -> nn.Module:
    if name == "conv3x3-bn-relu":
        return SlicedConvBNReLU(channels, channels, 3, affine)
    if name == "conv1x1-bn-relu":
        return SlicedConvBNReLU(channels, channels, 1, affine)
    return get_op(name, channels, channels, 1, affine)  # maxpool3x3: no weights, any width


class NB101SupernetCell(nn.Module):
    """All ``n_vertices``-vertex NB101 cells at once (module doc): a full-width 1x1 projection of the
    input for every non-input vertex and a ``ChoiceOp`` on every interior vertex."""

    def __init__(self, n_vertices: int, ops: Sequence[str], c_in: int, c_out: int, cell_index: int,
                 affine: bool = True) -> None:
        super().__init__()
        self.n_vertices, self.c_in, self.c_out, self.cell_index = n_vertices, c_in, c_out, cell_index
        self.projections = nn.ModuleDict({
            str(v): SlicedConvBNReLU(c_in, c_out, 1, affine) for v in range(1, n_vertices)})
        self.vertex_ops = nn.ModuleDict({
            str(v): ChoiceOp([_nb101_candidate(op, c_out, affine) for op in ops], cell_index)
            for v in range(1, n_vertices - 1)})
        self._upper = np.triu_indices(n_vertices, k=1)

    def forward(self, x: torch.Tensor, path: np.ndarray) -> torch.Tensor:
        """``path`` is one path ``(n_cells, n_slots)``: interior op indices, then adjacency bits."""
        n_interior = self.n_vertices - 2
        row = path[self.cell_index]
        matrix = np.zeros((self.n_vertices, self.n_vertices), dtype=np.int64)
        matrix[self._upper] = row[n_interior:]
        if matrix[1:-1, -1].any():
            channels = vertex_channels(self.c_in, self.c_out, matrix)
        else:  # the input->output cell: no interior vertex is used
            channels = [self.c_in] + [0] * n_interior + [self.c_out]
        return nb101_cell_forward(x, matrix, channels, lambda v, h, c: self.projections[str(v)](h, c),
                                  lambda v, h, c: self.vertex_ops[str(v)](h, path[:, v - 1]))


class NB101Supernet(Supernet):
    """The NB101 macro network (``NB101Network``) with an ``NB101SupernetCell`` of ``space.max_vertices``
    vertices in place of every cell; single path only (module doc)."""

    def __init__(self, space: NB101Space, *, num_classes: int, in_channels: int = 3, stem_channels: int = 16,
                 stacks: int = 3, cells_per_stack: int = 1, mode: Mode = "single",
                 linear_transformers: Sequence[str] = (), affine: bool = True) -> None:
        super().__init__()
        if mode != "single":
            raise ConfigError("the NB101 supernet is single-path only (mode='single'); NB101 has no mixed form")
        if linear_transformers:
            raise ConfigError("linear transformers replace skip / pooling edges of NB201 and DARTS cells; "
                              "the NB101 supernet takes none")
        self.space, self.mode, self.linear_transformers = space, mode, ()
        self.n_vertices = n = space.max_vertices
        self._index = {op: i for i, op in enumerate(space.ops)}
        cells: list[int] = []

        def cell(c_in: int, c_out: int) -> nn.Module:
            cells.append(len(cells))
            return NB101SupernetCell(n, space.ops, c_in, c_out, cells[-1], affine)

        self.network = NB101Network(None, None, num_classes=num_classes, in_channels=in_channels,
                                    stem_channels=stem_channels, stacks=stacks, cells_per_stack=cells_per_stack,
                                    cell=cell)
        self.n_cells = len(cells)
        row = [tuple(space.ops)] * (n - 2) + [("off", "on")] * (n * (n - 1) // 2)
        self.cell_candidates = [list(row) for _ in cells]

    def padded_matrix(self, arch: NB101Arch) -> np.ndarray:
        """``arch``'s adjacency padded to ``max_vertices``: its output moves to the last vertex."""
        index = np.r_[np.arange(arch.n_vertices - 1), self.n_vertices - 1]
        padded = np.zeros((self.n_vertices, self.n_vertices), dtype=np.int64)
        padded[np.ix_(index, index)] = arch.array()
        return padded

    def encode(self, arch: NB101Arch) -> np.ndarray:
        """Per cell: op index of interior vertices ``1..max_vertices-2`` (0 where the padded cell has no
        vertex), then the padded matrix's upper triangle (row-major)."""
        self.space.validate(arch)
        ops = np.zeros(self.n_vertices - 2, dtype=np.int64)
        ops[:arch.n_vertices - 2] = [self._index[op] for op in arch.ops[1:-1]]
        row = np.concatenate([ops, self.padded_matrix(arch)[np.triu_indices(self.n_vertices, k=1)]])
        return np.broadcast_to(row, (self.n_cells, len(row))).copy()

    def forward(self, x: torch.Tensor, choice: np.ndarray) -> torch.Tensor:
        """Logits of one path ``(n_cells, n_slots)`` or of one path per sample ``(batch, n_cells, n_slots)``:
        widths differ between paths, so the samples run in one group per distinct path."""
        paths = np.asarray(choice)
        if paths.ndim == 2:
            return self.network(x, paths)
        flat = paths.reshape(len(paths), -1)
        unique, groups = np.unique(flat, axis=0, return_inverse=True)
        groups = groups.reshape(-1)
        if len(unique) == 1:
            return self.network(x, paths[0])
        out: torch.Tensor | None = None
        for g in range(len(unique)):
            rows = torch.from_numpy(np.flatnonzero(groups == g)).to(x.device)
            y = self.network(x.index_select(0, rows), paths[int(rows[0])])
            if out is None:
                out = y.new_zeros((x.shape[0], *y.shape[1:]))
            out.index_copy_(0, rows, y)
        assert out is not None  # two or more groups ran
        return out


#: the supernet class of each space family
SUPERNETS: dict[str, type[Supernet]] = {"nb201": NB201Supernet, "darts": DartsSupernet, "nb101": NB101Supernet}


def build_supernet(space: SearchSpace, *, num_classes: int, in_channels: int = 3, mode: Mode = "single",
                   linear_transformers: Sequence[str] = (), **macro: Any) -> Supernet:
    """The supernet of ``space`` (NB201, DARTS-like or NB101; module doc); ``macro`` sets its width and depth."""
    target = SUPERNETS.get(getattr(space, "family", ""))
    if target is None:
        raise ArchitectureError(f"no supernet is known for space {getattr(space, 'name', space)!r}; "
                                "supported: NB201, DARTS-like and NB101 spaces")
    allowed = set(inspect.signature(target.__init__).parameters) - {"self", "space", "num_classes", "in_channels",
                                                                     "mode", "linear_transformers"}
    unknown = sorted(set(macro) - allowed)
    if unknown:
        raise ConfigError(f"unknown supernet option(s) {unknown}; valid: {sorted(allowed)}")
    return target(space, num_classes=num_classes, in_channels=in_channels, mode=mode,
                  linear_transformers=linear_transformers, **macro)
