"""The DARTS mixed-op supernet of an NB101 space and its discretisation (search-phase paper Table 3B and App. C.6:
DARTS adapted to NAS-Bench-101), following NAS-Bench-1Shot1 (Zela et al., ICLR 2020;
automl/nasbench-1shot1@cb0f0ec61ce8b37f8e2d0f2728c3ef0b9ec81bf1, ``optimizers/darts/model_search.py``
(``ChoiceBlock``, ``Cell``, ``Network._initialize_alphas``), ``nasbench_analysis/search_spaces/search_space_*.py``
and ``nasbench_analysis/eval_darts_one_shot_model_in_nasbench.py`` for the discretisation).

The cell of an ``n``-vertex NB101 space (``max_vertices``): vertex 0 is the cell input ``x``, vertices
``1..n-2`` (1Shot1's choice blocks) hold a ``MixedOp`` over the space's ops, vertex ``n-1`` is the output. With
``h_0 = proj_v(x)`` (a 1x1 conv-bn-relu of the input per vertex, as NB101) and ``h_u = s_u`` (``u >= 1``)::

    s_v = sum_o softmax(alpha_ops[v])_o * o( sum_{u<v} beta_{v,u} h_u )
    out = beta_{n-1,0} proj_out(x) + concat_{u=1..n-2}( beta_{n-1,u} s_u )

``beta_v = softmax(alpha_inputs[v])`` over the predecessors of ``v`` (the release's ``_preprocess_op``: a softmax;
not a sigmoid) where ``v`` chooses among them, and ``beta_v = 1`` (a plain sum, the release's ``input_weight = None``)
where it takes them all; the output is always weighted (the release's default ``output_weights=True``).

Parents per vertex (the 1Shot1 search spaces' ``num_parents_per_node``, generalised to ``n`` vertices by
``parent_counts``): every non-input vertex one parent, then one more to each vertex from the output backwards, round
after round, while the edge budget (the space's ``max_edges``, at most NB101's 9) lasts and the vertex has
predecessors left. At ``n = 7`` this is search space 3 (parents 1, 1, 1, 2, 2, 2), at ``n = 6`` search space 1
(1, 2, 2, 2, 2; the release pads it with an unused vertex); smaller ``n`` are the search-phase paper's reduced
spaces. A vertex chooses (has input weights) where it takes fewer parents than it has predecessors.

Discretisation (``discretise``), as the release's ``eval_one_shot_model``: each interior vertex keeps its op of
largest alpha, each choosing vertex its ``parent_counts`` predecessors of largest weight (ties: the lower index),
every other vertex all its predecessors; vertices that reach no output are pruned (NB101's ``ModelSpec``), so the
cell has at most ``n`` vertices and at most the budget's edges.

Ours differs on purpose: the NB101 macro network (``NB101Network``: stem, three stacks of ``cells_per_stack``
cells, 2x2 max pooling and doubled width between stacks, no final 1x1 conv) at the width every method of a
comparison shares, whose cell output has the stack's width split over the interior vertices as NB101's
``vertex_channels`` splits it (1Shot1: every choice block ``C`` channels, a ``C * (n - 2)`` cell output, a post-
processing 1x1 conv and max pooling with padding 1); batch norm follows ``SearchConfig.affine`` (DARTS's
non-affine by default; the release's NB101 ops are affine whatever it passes). A later vertex reads an earlier one's
leading channels where widths differ (NB101's truncation); with equal widths the cell is 1Shot1's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from nasaudit.errors import ConfigError
from nasaudit.nn.nb101_net import NB101Network, vertex_channels
from nasaudit.nn.ops import get_op
from nasaudit.spaces.nb101 import INPUT, NB101_MAX_EDGES, OUTPUT, NB101Arch, NB101Space
from nasaudit.weight_sharing.supernet.modules import MixedOp, SampledWeights, Supernet

#: the architecture-parameter kinds: the op of each interior vertex, the inputs of each choosing vertex
OPS_KIND, INPUTS_KIND = "ops", "inputs"


def parent_counts(n_vertices: int, max_edges: int) -> list[int]:
    """Parents of vertices ``1..n_vertices-1`` (module doc): one each, then one more per vertex from the output
    backwards, round after round, within ``min(max_edges, 9)`` edges and each vertex's predecessors."""
    budget = min(max_edges, NB101_MAX_EDGES)
    if n_vertices < 3 or n_vertices - 1 > budget:
        raise ConfigError(f"a DARTS search of an NB101 space needs at least one interior vertex and an edge into "
                          f"every vertex: {n_vertices} vertices and {budget} edges do not allow it")
    counts = [1] * (n_vertices - 1)
    spare = budget - len(counts)
    while spare > 0 and any(counts[v - 1] < v for v in range(1, n_vertices)):
        for v in range(n_vertices - 1, 0, -1):
            if spare > 0 and counts[v - 1] < v:
                counts[v - 1] += 1
                spare -= 1
    return counts


def check_width(n_vertices: int, channels: int) -> None:
    """A cell's width is split over its ``n_vertices - 2`` interior vertices: each needs a channel."""
    if channels < n_vertices - 2:
        raise ConfigError(f"the NB101 mixed supernet splits each cell's width over its {n_vertices - 2} interior "
                          f"vertices: it needs at least {n_vertices - 2} channels, got {channels}")


def choosing_vertices(n_vertices: int, max_edges: int) -> list[int]:
    """The vertices with input weights: those taking fewer parents than they have predecessors, and the output."""
    counts = parent_counts(n_vertices, max_edges)
    return [v for v in range(2, n_vertices) if counts[v - 1] < v or v == n_vertices - 1]


def predecessor_names(v: int) -> tuple[str, ...]:
    """The candidates of vertex ``v``'s input weights: the cell input, then the earlier vertices."""
    return (INPUT, *(f"vertex{u}" for u in range(1, v)))


class FixedCell(NamedTuple):
    """The forward argument that runs one NB101 cell exactly: the padded adjacency ``matrix`` (``n x n``, the
    output at vertex ``n-1``) and the candidate index of each interior vertex (-1 where the cell has none)."""

    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[int, ...]


class NB101MixedCell(nn.Module):
    """One mixed NB101 cell of ``n_vertices`` vertices over ``ops`` (module doc)."""

    def __init__(self, n_vertices: int, ops: Sequence[str], choosing: Sequence[int], c_in: int, c_out: int,
                 affine: bool) -> None:
        super().__init__()
        n = self.n_vertices = n_vertices
        full = np.zeros((n, n), dtype=np.int64)
        full[np.triu_indices(n, k=1)] = 1
        self.channels = vertex_channels(c_in, c_out, full)
        self.choosing = list(choosing)
        self.projections = nn.ModuleDict({
            str(v): get_op("conv1x1-bn-relu", c_in, self.channels[v], 1, affine) for v in range(1, n)})
        self.vertex_ops = nn.ModuleDict({
            str(v): MixedOp([get_op(op, self.channels[v], self.channels[v], 1, affine) for op in ops])
            for v in range(1, n - 1)})

    def forward(self, x: torch.Tensor, arg: dict[str, Any] | FixedCell) -> torch.Tensor:
        if isinstance(arg, FixedCell):
            return self._fixed(x, arg)
        n = self.n_vertices
        rows = {v: _row(r) for v, r in zip(self.choosing, arg[INPUTS_KIND], strict=True)}
        states: list[torch.Tensor] = [x]
        for v in range(1, n - 1):
            summed = self._weighted_inputs(x, states, v, rows.get(v))
            states.append(self.vertex_ops[str(v)](summed, arg[OPS_KIND][v - 1]))
        out = rows[n - 1]
        cat = torch.cat([out[u] * states[u] for u in range(1, n - 1)], dim=1)
        return out[0] * self.projections[str(n - 1)](x) + cat

    def _weighted_inputs(self, x: torch.Tensor, states: list[torch.Tensor], v: int,
                         row: torch.Tensor | None) -> torch.Tensor:
        inputs = [self.projections[str(v)](x), *(states[u][:, :self.channels[v]] for u in range(1, v))]
        if row is None:  # no choice: every predecessor, summed
            return sum(inputs[1:], inputs[0])
        return sum((row[u] * h for u, h in enumerate(inputs[1:], 1)), row[0] * inputs[0])

    def _fixed(self, x: torch.Tensor, cell: FixedCell) -> torch.Tensor:
        n, widths, m = self.n_vertices, self.channels, cell.matrix
        states: dict[int, torch.Tensor] = {}
        for v in range(1, n - 1):
            inputs = [states[u][:, :widths[v]] for u in range(1, v) if m[u][v]]
            if m[0][v]:
                inputs.append(self.projections[str(v)](x))
            if inputs:
                op = self.vertex_ops[str(v)]
                assert isinstance(op, MixedOp)
                states[v] = op.candidates[cell.ops[v - 1]](sum(inputs[1:], inputs[0]))
        slots = [states[u] if m[u][n - 1] else x.new_zeros((x.shape[0], widths[u], *x.shape[2:]))
                 for u in range(1, n - 1)]
        out = torch.cat(slots, dim=1)
        return out + self.projections[str(n - 1)](x) if m[0][n - 1] else out


def _row(weights: torch.Tensor | SampledWeights) -> torch.Tensor:
    return weights.weights if isinstance(weights, SampledWeights) else weights


class NB101MixedSupernet(Supernet):
    """The NB101 macro network with an ``NB101MixedCell`` of ``space.max_vertices`` vertices in every cell, all
    cells sharing one set of architecture weights (module doc). ``forward(x, arg)`` takes ``{"ops": rows,
    "inputs": rows}`` (``ArchParameters.forward_arg``) or a ``FixedCell`` (``fixed_arg``)."""

    def __init__(self, space: NB101Space, *, num_classes: int, in_channels: int = 3, channels: int = 16,
                 cells_per_stack: int = 3, affine: bool = False) -> None:
        super().__init__()
        self.space, self.mode, self.linear_transformers = space, "mixed", ()
        self.n_vertices = n = space.max_vertices
        check_width(n, channels)
        self.counts = parent_counts(n, space.max_edges)
        self.choosing = choosing_vertices(n, space.max_edges)
        cells: list[NB101MixedCell] = []

        def cell(c_in: int, c_out: int) -> nn.Module:
            cells.append(NB101MixedCell(n, space.ops, self.choosing, c_in, c_out, affine))
            return cells[-1]

        self.network = NB101Network(None, None, num_classes=num_classes, in_channels=in_channels,
                                    stem_channels=channels, stacks=3, cells_per_stack=cells_per_stack, cell=cell)
        self.n_cells = len(cells)
        self.cell_candidates = [[tuple(space.ops)] * (n - 2) for _ in cells]

    def alpha_candidates(self) -> dict[str, list[tuple[str, ...]]]:
        """The candidates of every architecture-weight row: an op per interior vertex, a predecessor per
        choosing vertex."""
        return {OPS_KIND: [tuple(self.space.ops)] * (self.n_vertices - 2),
                INPUTS_KIND: [predecessor_names(v) for v in self.choosing]}

    def alpha_ends(self) -> dict[str, list[tuple[int, int]]]:
        """``(-1, v)`` per row: each row belongs to vertex ``v`` (not to one edge)."""
        return {OPS_KIND: [(-1, v) for v in range(1, self.n_vertices - 1)],
                INPUTS_KIND: [(-1, v) for v in self.choosing]}

    def encode(self, arch: Any) -> np.ndarray:
        raise ConfigError("the mixed NB101 supernet runs weights or a fixed cell (fixed_arg), not a path")

    def padded_matrix(self, arch: NB101Arch) -> tuple[tuple[int, ...], ...]:
        """``arch``'s adjacency padded to ``max_vertices`` vertices, its output moved to the last."""
        index = np.r_[np.arange(arch.n_vertices - 1), self.n_vertices - 1]
        padded = np.zeros((self.n_vertices, self.n_vertices), dtype=np.int64)
        padded[np.ix_(index, index)] = arch.array()
        return tuple(tuple(int(b) for b in row) for row in padded)

    def fixed_arg(self, arch: NB101Arch) -> FixedCell:
        """The forward argument that runs exactly ``arch`` (a member of the space) in every cell."""
        self.space.validate(arch)
        ops = [-1] * (self.n_vertices - 2)
        for v, op in enumerate(arch.ops[1:-1], 1):
            ops[v - 1] = self.space.ops.index(op)
        return FixedCell(self.padded_matrix(arch), tuple(ops))

    def forward(self, x: torch.Tensor, arg: dict[str, Any] | FixedCell) -> torch.Tensor:
        return self.network(x, arg)


def discretise(weights: dict[str, torch.Tensor], supernet: NB101MixedSupernet) -> NB101Arch:
    """The NB101 cell of softmax ``weights`` (``ArchParameters.weights``) by the 1Shot1 rule (module doc)."""
    n, ops = supernet.n_vertices, supernet.space.ops
    op_rows = weights[OPS_KIND].detach().cpu().numpy()
    input_rows = {v: weights[INPUTS_KIND][k, :v].detach().cpu().numpy() for k, v in enumerate(supernet.choosing)}
    matrix = np.zeros((n, n), dtype=np.int64)
    for v in range(1, n):
        if v in input_rows:
            order = sorted(range(v), key=lambda u: (-float(input_rows[v][u]), u))
            parents = order[:supernet.counts[v - 1]]
        else:
            parents = list(range(v))
        matrix[parents, v] = 1
    labels = [INPUT, *(ops[int(np.argmax(row))] for row in op_rows), OUTPUT]
    arch = NB101Arch.from_spec(matrix, labels)
    supernet.space.validate(arch)
    return arch
