"""PC-DARTS's partially connected supernet (Xu et al., ICLR 2020, Sec. 3.2-3.3;
yuhuixu1993/PC-DARTS@225925a390c26616331d5b83fddc9c34ffbb9887, ``model_search.py``: ``channel_shuffle``,
``MixedOp``, ``Cell.forward``).

On every mixed edge only the first ``1/k`` of the input's channels go through the candidates, weighted by the
softmax of alpha; the other channels bypass them (max-pooled 2x2 on an edge of stride 2, the reduction edges of a
DARTS cell) and are concatenated after the candidates' sum, and the result is channel-shuffled in ``k`` groups
(``PartialMixedOp``). Edge normalisation scales the edge's whole output by its normalised beta
(``ScaledWeights``; ``ArchParameters.edge_weights``). NB201 edges all have stride 1, so nothing is pooled there.

``partial_channels`` turns a freshly built mixed supernet (``supernet.modules``) into PC-DARTS's: every ``MixedOp``
is replaced by a ``PartialMixedOp`` whose candidates are built by the same ``candidate_op`` at ``1/k`` of the edge's
width (DARTS: a pooling candidate keeps its non-affine batch norm, as the release's ``MixedOp`` adds it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import nn

from nasaudit.errors import ConfigError
from nasaudit.nn.cells import DartsCellModule, Edge, NB201CellModule
from nasaudit.nn.nb201_net import ResidualReduction
from nasaudit.weight_sharing.supernet.modules import (
    DartsSupernet,
    MixedOp,
    NB201Supernet,
    SampledWeights,
    Supernet,
    candidate_op,
)


class ScaledWeights(NamedTuple):
    """An edge's mixing weights (a row, or one sampled candidate) and the factor of its whole output, the edge's
    normalised beta (PC-DARTS edge normalisation, Sec. 3.3)."""

    weights: torch.Tensor | SampledWeights
    scale: torch.Tensor


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Channels ``(g, c)`` reordered as ``(c, g)`` for ``groups`` groups ``g`` (ShuffleNet; the release's
    ``channel_shuffle``)."""
    n, channels, h, w = x.shape
    return x.view(n, groups, channels // groups, h, w).transpose(1, 2).reshape(n, channels, h, w)


class PartialMixedOp(nn.Module):
    """A partially connected mixed edge (module doc): ``candidates`` run on the first ``1/k`` of the channels."""

    def __init__(self, candidates: Sequence[nn.Module], k: int, stride: int) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(candidates)
        self.k = k
        self.pool = nn.MaxPool2d(2, 2) if stride > 1 else None

    def forward(self, x: torch.Tensor, weights: torch.Tensor | SampledWeights | ScaledWeights) -> torch.Tensor:
        row = weights.weights if isinstance(weights, ScaledWeights) else weights
        scale = weights.scale if isinstance(weights, ScaledWeights) else None
        width = x.shape[1] // self.k
        part, rest = x[:, :width], x[:, width:]
        if isinstance(row, SampledWeights):
            choice = row.choice
            mixed = sum(w * op(part) if i == choice else w
                        for i, (w, op) in enumerate(zip(row.weights, self.candidates, strict=True)))
        else:
            mixed = sum(w * op(part) for w, op in zip(row, self.candidates, strict=True))
        if self.pool is not None:
            rest = self.pool(rest)
        out = channel_shuffle(torch.cat([mixed, rest], dim=1), self.k)
        return out if scale is None else scale * out


def _cell_widths(supernet: Supernet) -> list[tuple[nn.Module, int, str]]:
    """Every cell of ``supernet`` in network order with its edges' width and its candidates' cell kind."""
    cells: list[tuple[nn.Module, int, str]] = []
    if isinstance(supernet, NB201Supernet):
        stem = supernet.network.stem[0]
        assert isinstance(stem, nn.Conv2d)
        width = stem.out_channels
        for layer in supernet.network.cells:
            if isinstance(layer, ResidualReduction):
                width *= 2
            elif isinstance(layer, NB201CellModule):
                cells.append((layer, width, "cell"))
        return cells
    assert isinstance(supernet, DartsSupernet)
    for layer, kind in zip(supernet.network.cells, supernet.cell_types, strict=True):
        assert isinstance(layer, DartsCellModule)
        conv = layer.preprocess1[1]
        assert isinstance(conv, nn.Conv2d)
        cells.append((layer, conv.out_channels, kind))
    return cells


def partial_channels(supernet: Supernet, k: int, affine: bool) -> Supernet:
    """``supernet`` (mixed mode, freshly built) with every ``MixedOp`` replaced by a ``PartialMixedOp`` of ``k``
    (module doc), its candidates newly initialised from the global torch RNG; marks it ``partial_channels = k``
    (``ArchParameters`` then adds the edge-normalisation betas). Every edge's width must divide by ``k``."""
    if supernet.mode != "mixed" or not isinstance(supernet, NB201Supernet | DartsSupernet):
        raise ConfigError("partial channel connections need a mixed-mode NB201 or DARTS supernet")
    darts = isinstance(supernet, DartsSupernet)
    for cell, width, kind in _cell_widths(supernet):
        if width % k:
            raise ConfigError(f"PC-DARTS runs 1/k of an edge's channels: k={k} does not divide a width of {width}")
        assert isinstance(cell, NB201CellModule | DartsCellModule)
        for index, (src, dst) in enumerate(cell.edges):
            old = cell.ops[index]
            assert isinstance(old, MixedOp)
            stride = 2 if isinstance(cell, DartsCellModule) and cell.reduction and src < 2 else 1
            names = (supernet.candidates[kind][index] if isinstance(supernet, DartsSupernet)
                     else supernet.cell_candidates[0][index])
            edge = Edge(index, src, dst, width // k, width // k, stride)
            cell.ops[index] = PartialMixedOp([candidate_op(n, edge, (), affine, pool_norm=darts) for n in names],
                                             k, stride)
    setattr(supernet, "partial_channels", k)  # noqa: B010  # read by ArchParameters
    return supernet
