"""The DARTS macro networks (Liu et al., 2019, Sec. 3.3 and App. A.2; redundancy paper App. B.2-B.3).

* ``DartsNetworkCIFAR``: 3x3 conv stem (``stem_multiplier * channels``), ``layers`` cells with
  reduction cells at ``layers // 3`` and ``2 * layers // 3`` (channels doubled), an auxiliary head on
  the output of cell ``2 * layers // 3`` (architectures paper App. A.4: "at the 2L/3-th cell"),
  global pooling, linear classifier. ``stem_stride=2`` is the Tiny-ImageNet variant (architectures
  paper App. A.3).
* ``DartsNetworkImageNet``: the mobile setting's two stride-2 stems (input 224 -> 28), the same cell
  stack, auxiliary head for ImageNet, 7x7 average pooling.

Cells come from ``cell_factory(cell_type, c_prev_prev, c_prev, channels, reduction, reduction_prev)``
so a supernet can stack its own mixed-op cells in the same macro network. ``drop_path_prob`` is set
by the trainer each epoch. In training mode with an auxiliary head, ``forward`` returns
``(logits, aux_logits)``; otherwise just ``logits``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nasaudit.errors import ConfigError
from nasaudit.nn.cells import DartsCellModule

CellFactory = Callable[[str, int, int, int, bool, bool], DartsCellModule]


class AuxiliaryHeadCIFAR(nn.Sequential):
    """DARTS ``AuxiliaryHeadCIFAR`` (expects 8x8 inputs, i.e. 32x32 images)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(inplace=False),
            nn.Flatten(), nn.Linear(768, num_classes),
        )


class AuxiliaryHeadImageNet(nn.Sequential):
    """DARTS ``AuxiliaryHeadImageNet`` (no BN after the 2x2 conv, as published). DARTS's comment says 14x14 inputs;
    placed after cell ``2 * layers // 3``, itself a reduction cell, it gets 7x7 maps from 224x224 images."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=2, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False), nn.ReLU(inplace=False),
            nn.Flatten(), nn.Linear(768, num_classes),
        )


class _DartsStack(nn.Module):
    """The cell stack and head shared by the CIFAR and ImageNet networks."""

    def __init__(self, cell_factory: CellFactory, *, num_classes: int, channels: int, layers: int,
                 auxiliary: bool, c_stem: int, reduction_prev: bool, aux_head: type[nn.Module]) -> None:
        super().__init__()
        self.layers = layers
        self.aux_index = 2 * layers // 3
        self.drop_path_prob = 0.0
        c_pp, c_p, c_cur = c_stem, c_stem, channels
        self.cells = nn.ModuleList()
        c_aux = c_p
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_cur *= 2
            cell = cell_factory("reduce" if reduction else "normal", c_pp, c_p, c_cur, reduction, reduction_prev)
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c_cur
            if i == self.aux_index:
                c_aux = c_p
        self.auxiliary_head = aux_head(c_aux, num_classes) if auxiliary else None
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def run_cells(self, s0: torch.Tensor, s1: torch.Tensor,
                  edge_args: Mapping[str, Sequence[Any]] | None) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        aux_logits = None
        for i, cell in enumerate(self.cells):
            args = None if edge_args is None else edge_args["reduce" if cell.reduction else "normal"]
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob, args)
            if i == self.aux_index and self.auxiliary_head is not None and self.training:
                if min(s1.shape[-2:]) < 5:
                    raise ConfigError(
                        f"the DARTS auxiliary head needs feature maps of at least 5x5 after cell {i} (CIFAR-size "
                        f"32x32 inputs), got {tuple(s1.shape[-2:])}; build the network with auxiliary=False"
                    )
                aux_logits = self.auxiliary_head(s1)
        logits = self.classifier(self.global_pooling(s1).flatten(1))
        return logits if aux_logits is None else (logits, aux_logits)


class DartsNetworkCIFAR(_DartsStack):
    """DARTS ``NetworkCIFAR``: C=36, 20 cells, auxiliary head in the evaluation protocol."""

    def __init__(self, cell_factory: CellFactory, *, num_classes: int, in_channels: int = 3,
                 channels: int = 36, layers: int = 20, auxiliary: bool = True, stem_multiplier: int = 3,
                 stem_stride: int = 1) -> None:
        c_stem = stem_multiplier * channels
        super().__init__(cell_factory, num_classes=num_classes, channels=channels, layers=layers,
                         auxiliary=auxiliary, c_stem=c_stem, reduction_prev=False, aux_head=AuxiliaryHeadCIFAR)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_stem, 3, stem_stride, 1, bias=False),
                                  nn.BatchNorm2d(c_stem))

    def forward(self, x: torch.Tensor, edge_args: Mapping[str, Sequence[Any]] | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        s = self.stem(x)
        return self.run_cells(s, s, edge_args)


class DartsNetworkImageNet(_DartsStack):
    """DARTS ``NetworkImageNet`` (mobile setting: C=48, 14 cells, 224x224 inputs)."""

    def __init__(self, cell_factory: CellFactory, *, num_classes: int, in_channels: int = 3,
                 channels: int = 48, layers: int = 14, auxiliary: bool = True) -> None:
        super().__init__(cell_factory, num_classes=num_classes, channels=channels, layers=layers,
                         auxiliary=auxiliary, c_stem=channels, reduction_prev=True,
                         aux_head=AuxiliaryHeadImageNet)
        self.stem0 = nn.Sequential(
            nn.Conv2d(in_channels, channels // 2, 3, 2, 1, bias=False), nn.BatchNorm2d(channels // 2),
            nn.ReLU(inplace=False),
            nn.Conv2d(channels // 2, channels, 3, 2, 1, bias=False), nn.BatchNorm2d(channels),
        )
        self.stem1 = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(channels, channels, 3, 2, 1, bias=False),
                                   nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor, edge_args: Mapping[str, Sequence[Any]] | None = None
                ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        s0 = self.stem0(x)
        return self.run_cells(s0, self.stem1(s0), edge_args)
