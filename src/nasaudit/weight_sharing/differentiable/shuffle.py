"""Layer and edge shuffling of a trained network or supernet (selection paper Sec. 3.2, Table 1).

``shuffle_layers`` swaps two randomly chosen cells of the same shape in every stage (the stretch between
two reductions), as the paper does for VGG and ResNet layers; ``shuffle_edges`` swaps two randomly chosen
edges of the same stride in every cell, as it does for DARTS's supernet. Both return a shuffled copy.
A mixed-op supernet's edges first get their own copy of their weights (``forward_arg``), so a moved edge
keeps its alpha. ``shuffle_accuracy`` measures the accuracy before and after, over several shuffles.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError
from nasaudit.nn.cells import DartsCellModule, NB201CellModule
from nasaudit.nn.nb201_net import ResidualReduction
from nasaudit.train.loop import resolve_device
from nasaudit.weight_sharing.differentiable.search import DeviceData, evaluate
from nasaudit.weight_sharing.supernet.modules import MixedOp, SampledWeights

_CELLS = (NB201CellModule, DartsCellModule)


class FrozenMixedOp(nn.Module):
    """A mixed edge that carries its own architecture weights and ignores the forward argument."""

    def __init__(self, op: MixedOp, weights: torch.Tensor | SampledWeights) -> None:
        super().__init__()
        self.op = op
        self.weights = weights

    def forward(self, x: torch.Tensor, _arg: Any = None) -> torch.Tensor:
        return self.op(x, self.weights)


def _root(model: nn.Module) -> nn.Module:
    return getattr(model, "network", model)  # a Supernet wraps its macro network


def freeze_weights(model: nn.Module, forward_arg: Any) -> None:
    """Give every mixed edge of ``model`` its row of ``forward_arg`` (NB201: a list of rows; DARTS: a
    dict of them per cell kind) in place."""
    for cell in _root(model).modules():
        if not isinstance(cell, _CELLS):
            continue
        rows = forward_arg if not isinstance(forward_arg, dict) else forward_arg[
            "reduce" if getattr(cell, "reduction", False) else "normal"]
        for k, op in enumerate(cell.ops):
            if isinstance(op, MixedOp):
                cell.ops[k] = FrozenMixedOp(op, rows[k])


def _edge_stride(cell: nn.Module, src: int) -> int:
    return 2 if isinstance(cell, DartsCellModule) and cell.reduction and src < 2 else 1


def _random_pair(groups: list[list[int]], rng: np.random.Generator) -> tuple[int, int] | None:
    pairs = [(a, b) for group in groups for i, a in enumerate(group) for b in group[i + 1:]]
    return None if not pairs else pairs[int(rng.integers(len(pairs)))]


def shuffle_edges(model: nn.Module, *, seed: int | np.random.Generator, forward_arg: Any = None
                  ) -> tuple[nn.Module, list[tuple[int, int, int]]]:
    """A copy of ``model`` with two same-stride edges swapped in every cell, and the swaps
    ``(cell, edge_a, edge_b)``; ``forward_arg`` freezes a mixed supernet's weights first (module doc)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    net = copy.deepcopy(model)
    if forward_arg is not None:
        freeze_weights(net, forward_arg)
    swaps = []
    for index, cell in enumerate(m for m in _root(net).modules() if isinstance(m, _CELLS)):
        strides: dict[int, list[int]] = {}
        for k, (src, _) in enumerate(cell.edges):
            strides.setdefault(_edge_stride(cell, src), []).append(k)
        pair = _random_pair(list(strides.values()), rng)
        if pair is not None:
            a, b = pair
            cell.ops[a], cell.ops[b] = cell.ops[b], cell.ops[a]
            swaps.append((index, a, b))
    if not swaps:
        raise ConfigError("no cell of this network has two edges of the same shape to swap")
    return net, swaps


def _signature(module: nn.Module) -> tuple[Any, ...]:
    shapes = tuple((name, tuple(t.shape)) for name, t in module.state_dict().items())
    return type(module).__name__, getattr(module, "reduction", None), shapes


def shuffle_layers(model: nn.Module, *, seed: int | np.random.Generator) -> tuple[nn.Module, list[tuple[int, int]]]:
    """A copy of ``model`` (NB201 or DARTS network or supernet) with two same-shape cells swapped in
    every stage, and the swaps ``(cell_a, cell_b)`` (indices into the network's ``cells``)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    net = copy.deepcopy(model)
    cells = getattr(_root(net), "cells", None)
    if not isinstance(cells, nn.ModuleList):
        raise ConfigError(f"{type(model).__name__} has no cell stack to shuffle (NB201 / DARTS networks only)")
    stages: list[list[int]] = [[]]
    for i, cell in enumerate(cells):
        if isinstance(cell, ResidualReduction) or getattr(cell, "reduction", False):
            stages.append([])
        else:
            stages[-1].append(i)
    swaps = []
    for stage in stages:
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i in stage:
            groups.setdefault(_signature(cells[i]), []).append(i)
        pair = _random_pair(list(groups.values()), rng)
        if pair is not None:
            a, b = pair
            cells[a], cells[b] = cells[b], cells[a]
            swaps.append(pair)
    if not swaps:
        raise ConfigError("no stage of this network has two cells of the same shape to swap")
    return net, swaps


@dataclass(frozen=True)
class ShuffleResult:
    """Accuracy (%) before shuffling and after each of ``len(after)`` shuffles (selection paper Table 1)."""

    mode: str
    split: str
    before: float
    after: tuple[float, ...]

    @property
    def after_mean(self) -> float:
        return float(np.mean(self.after))

    @property
    def after_std(self) -> float:
        return float(np.std(self.after, ddof=1)) if len(self.after) > 1 else math.nan


def shuffle_accuracy(model: nn.Module, splits: DatasetSplits, *, seed: int, mode: str = "edges", repeats: int = 5,
                     forward_arg: Any = None, split: str = "test", device: str | None = None) -> ShuffleResult:
    """Accuracy of ``model`` (eval mode; ``model(x, forward_arg)``) on ``split`` before and after ``repeats``
    independent shuffles of its ``mode`` ("edges" or "layers"); shuffle ``r`` draws from ``(seed, r)``."""
    if mode not in ("edges", "layers"):
        raise ConfigError(f"shuffle mode must be 'edges' or 'layers', got {mode!r}")
    if split not in ("train", "val", "test") or repeats < 1:
        raise ConfigError(f"split must be train, val or test and repeats >= 1, got {split!r}, {repeats}")
    torch_device = resolve_device(device)
    batches = DeviceData(splits, torch_device).fixed_batches(split, 512)
    model = model.to(torch_device)
    before = evaluate(model, forward_arg, batches, noise_seed=seed)[1]
    after = []
    for r in range(repeats):
        rng = np.random.default_rng([seed, r])
        shuffled = (shuffle_edges(model, seed=rng, forward_arg=forward_arg)[0] if mode == "edges"
                    else shuffle_layers(model, seed=rng)[0])
        after.append(evaluate(shuffled, forward_arg, batches, noise_seed=seed)[1])
    return ShuffleResult(mode, split, before, tuple(after))
