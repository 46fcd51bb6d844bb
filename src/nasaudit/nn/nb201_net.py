"""The NAS-Bench-201 macro network (NB201 paper Sec. 2.1, Fig. 1; the benchmark's ``TinyNetwork``).

Stem (3x3 conv + BN, ``channels`` wide), three stages of ``cells_per_stage`` cells joined by two
residual reduction blocks (stride 2, channels doubled), then BN-ReLU, global average pooling and a
linear classifier. The cell comes from ``cell_factory(channels)`` so a supernet can reuse the macro
structure with its own cells; ``forward(x, edge_args)`` hands ``edge_args`` to every cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from nasaudit.nn.ops import ReLUConvBN


class ResidualReduction(nn.Module):
    """NB201's ``ResNetBasicblock`` at stride 2: two ReLU-Conv-BN 3x3 plus an avg-pool + 1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """Stem, 3 stages of N cells with 2 residual reductions, BN-ReLU, pooling, classifier."""

    def __init__(self, cell_factory: Callable[[int], nn.Module], *, num_classes: int, in_channels: int = 3,
                 channels: int = 16, cells_per_stage: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))
        layers: list[nn.Module] = []
        width = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(width, width * 2))
                width *= 2
            layers.extend(cell_factory(width) for _ in range(cells_per_stage))
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=False))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor, edge_args: Sequence[Any] | None = None) -> torch.Tensor:
        out = self.stem(x)
        for layer in self.cells:
            out = layer(out) if isinstance(layer, ResidualReduction) else layer(out, edge_args)
        out = self.global_pooling(self.lastact(out)).flatten(1)
        return self.classifier(out)
