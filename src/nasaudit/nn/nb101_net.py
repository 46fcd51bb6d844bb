"""The NAS-Bench-101 network (Ying et al., 2019, Sec. 2.1; search-phase paper Sec. 3.2 and App. B).

Stem conv3x3-bn-relu (128 channels), three stacks of three cells; every stack after the first starts
with 2x2 max pooling and doubles the channels; global average pooling and a dense classifier.

Inside a cell the output channels are split over the vertices that feed the output (their outputs
are concatenated); vertices fed by the input get a 1x1 conv-bn-relu projection of it, vertices fed
by other vertices take those outputs truncated to their own width; an input->output edge adds a
projection of the input to the output. This follows ``model_builder.py`` of the NB101 code.
"""

from __future__ import annotations

from collections.abc import Sequence

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
        n = self.matrix.shape[0]
        states = [x]
        for v in range(1, n - 1):
            inputs = [states[src][:, :self.channels[v]] for src in range(1, v) if self.matrix[src, v]]
            if self.matrix[0, v]:
                inputs.append(self.projections[str(v)](x))
            states.append(self.vertex_ops[str(v)](sum(inputs[1:], inputs[0])))
        fan_in = [states[v] for v in range(1, n - 1) if self.matrix[v, -1]]
        out = torch.cat(fan_in, dim=1) if fan_in else None
        if self.matrix[0, -1]:
            projected = self.projections[str(n - 1)](x)
            out = projected if out is None else out + projected
        return out


class NB101Network(nn.Module):
    """Stem, ``stacks`` stacks of ``cells_per_stack`` cells (max-pool + double channels between)."""

    def __init__(self, matrix: Sequence[Sequence[int]], ops: Sequence[str], *, num_classes: int,
                 in_channels: int = 3, stem_channels: int = 128, stacks: int = 3, cells_per_stack: int = 3) -> None:
        super().__init__()
        adjacency = np.asarray(matrix, dtype=np.int64)
        if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1] or adjacency.shape[0] != len(ops):
            raise ArchitectureError(
                f"NB101 cell needs a square adjacency matrix with one op per vertex, got matrix shape "
                f"{adjacency.shape} and {len(ops)} ops"
            )
        if adjacency.shape[0] < 2 or not (adjacency[1:, -1].any() or adjacency[0, -1]):
            raise ArchitectureError("NB101 cell output has no incoming edge")
        self.stem = get_op("conv3x3-bn-relu", in_channels, stem_channels, 1)
        layers: list[nn.Module] = []
        c_in = width = stem_channels
        for stack in range(stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
                width *= 2
            for _ in range(cells_per_stack):
                layers.append(NB101CellModule(adjacency, ops, c_in, width))
                c_in = width
        self.layers = nn.Sequential(*layers)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.layers(self.stem(x))).flatten(1))
