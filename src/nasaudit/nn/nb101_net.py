"""The NAS-Bench-101 network (Ying et al., 2019, Sec. 2.1; search-phase paper Sec. 3.2 and App. B).

Stem conv3x3-bn-relu (128 channels), three stacks of three cells; every stack after the first starts
with 2x2 max pooling and doubles the channels; global average pooling and a dense classifier.

Inside a cell the output channels are split over the vertices that feed the output (their outputs
are concatenated); vertices fed by the input get a 1x1 conv-bn-relu projection of it, vertices fed
by other vertices take those outputs truncated to their own width; an input->output edge adds a
projection of the input to the output. This follows ``model_builder.py`` of the NB101 code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from nasaudit.errors import ArchitectureError
from nasaudit.nn.ops import get_op


def vertex_channels(c_in: int, c_out: int, matrix: np.ndarray) -> list[int]:
    """Channels of every vertex (NB101 ``compute_vertex_channels``)."""
    n = matrix.shape[0]
    channels = [0] * n
    channels[0], channels[-1] = c_in, c_out
    if n == 2:
        return channels
    in_degree = matrix[1:].sum(axis=0)
    interior, correction = divmod(c_out, int(in_degree[-1]))
    for v in range(1, n - 1):
        if matrix[v, -1]:
            channels[v] = interior + (1 if correction > 0 else 0)
            correction -= 1
    for v in range(n - 3, 0, -1):
        if not matrix[v, -1]:
            for dst in range(v + 1, n - 1):
                if matrix[v, dst]:
                    channels[v] = max(channels[v], channels[dst])
    return channels


class NB101CellModule(nn.Module):
    """One NB101 cell: op-on-vertex DAG, inputs summed (projected or truncated), outputs concatenated."""

    def __init__(self, matrix: np.ndarray, ops: Sequence[str], c_in: int, c_out: int) -> None:
        super().__init__()
        self.matrix = matrix
        n = matrix.shape[0]
        self.channels = vertex_channels(c_in, c_out, matrix)
        self.projections = nn.ModuleDict({
            str(v): get_op("conv1x1-bn-relu", c_in, self.channels[v], 1)
            for v in range(1, n) if matrix[0, v]
        })
        self.vertex_ops = nn.ModuleDict({
            str(v): get_op(ops[v], self.channels[v], self.channels[v], 1) for v in range(1, n - 1)
        })

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nb101_cell_forward(x, self.matrix, self.channels, lambda v, h, c: self.projections[str(v)](h),
                                  lambda v, h, c: self.vertex_ops[str(v)](h))


def nb101_cell_forward(x: torch.Tensor, matrix: np.ndarray, channels: Sequence[int],
                       project: Callable[[int, torch.Tensor, int], torch.Tensor],
                       vertex_op: Callable[[int, torch.Tensor, int], torch.Tensor]) -> torch.Tensor:
    """The NB101 cell dataflow over ``matrix`` with vertex widths ``channels`` (``vertex_channels``).

    ``project(v, x, c)`` is the 1x1 projection of the cell input to vertex ``v``'s ``c`` channels and
    ``vertex_op(v, h, c)`` vertex ``v``'s op on its summed input ``h``; interior vertices without an
    incoming edge (padding of a smaller cell in a supernet) are skipped and must not feed others.
    """
    n = matrix.shape[0]
    states: dict[int, torch.Tensor] = {0: x}
    for v in range(1, n - 1):
        inputs = [states[src][:, :channels[v]] for src in range(1, v) if matrix[src, v]]
        if matrix[0, v]:
            inputs.append(project(v, x, channels[v]))
        if inputs:
            states[v] = vertex_op(v, sum(inputs[1:], inputs[0]), channels[v])
    fan_in = [states[v] for v in range(1, n - 1) if matrix[v, -1]]
    out = torch.cat(fan_in, dim=1) if fan_in else None
    if matrix[0, -1]:
        projected = project(n - 1, x, channels[-1])
        out = projected if out is None else out + projected
    assert out is not None  # a valid cell's output vertex has an incoming edge
    return out


class NB101Network(nn.Module):
    """Stem, ``stacks`` stacks of ``cells_per_stack`` cells (max-pool + double channels between)."""

    def __init__(self, matrix: Sequence[Sequence[int]] | None, ops: Sequence[str] | None, *, num_classes: int,
                 in_channels: int = 3, stem_channels: int = 128, stacks: int = 3, cells_per_stack: int = 3,
                 cell: Callable[[int, int], nn.Module] | None = None) -> None:
        super().__init__()
        if cell is None:
            cell = self._fixed_cell(matrix, ops)
        self.stem = get_op("conv3x3-bn-relu", in_channels, stem_channels, 1)
        layers: list[nn.Module] = []
        c_in = width = stem_channels
        for stack in range(stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
                width *= 2
            for _ in range(cells_per_stack):
                layers.append(cell(c_in, width))
                c_in = width
        self.layers = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    @staticmethod
    def _fixed_cell(matrix: Sequence[Sequence[int]] | None,
                    ops: Sequence[str] | None) -> Callable[[int, int], nn.Module]:
        if matrix is None or ops is None:
            raise ArchitectureError("NB101Network needs a matrix and ops, or a cell factory")
        adjacency = np.asarray(matrix, dtype=np.int64)
        if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1] or adjacency.shape[0] != len(ops):
            raise ArchitectureError(
                f"NB101 cell needs a square adjacency matrix with one op per vertex, got matrix shape "
                f"{adjacency.shape} and {len(ops)} ops"
            )
        if adjacency.shape[0] < 2 or not (adjacency[1:, -1].any() or adjacency[0, -1]):
            raise ArchitectureError("NB101 cell output has no incoming edge")
        return lambda c_in, c_out: NB101CellModule(adjacency, ops, c_in, c_out)

    def forward(self, x: torch.Tensor, *cell_args: object) -> torch.Tensor:
        """Logits; ``cell_args`` (e.g. a supernet path) go to every cell, not to the pooling layers."""
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x) if isinstance(layer, nn.MaxPool2d) else layer(x, *cell_args)
        return self.classifier(self.global_pooling(x).flatten(1))
