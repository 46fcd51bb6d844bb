"""Score architectures with a proxy: the seeded batch, the seeded untrained networks, and the batched loop.

A proxy's value depends on the architecture, the batch (dataset, size, seed), the network's initial weights
(seed, width, depth) and nothing else, so ``ProxySetting`` is what a stored score is keyed by. Every network is
initialised from ``torch.manual_seed(seed)`` alone, so a cell's score does not depend on which cells share its
fused stack. NB201 networks may be fused ``fuse`` at a time (``Stack.fuse``); other spaces run one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch

from nasaudit.proxies._base import PROXIES, Batch, cross_entropy
from nasaudit.proxies._stack import Stack
from nasaudit.spaces.base import SearchSpace

#: networks fused into one stack by default: one, since fusion measured slower than the plain loop on CPU for
#: the tiny default network (``benchmarks/bench_proxies.py``; fused kernels run only where exact, ``nn/fused.py``)
DEFAULT_FUSE = 1


@dataclass(frozen=True)
class ProxySetting:
    """Everything a proxy score depends on besides the architecture (the store's key)."""

    proxy: str
    dataset: str = "fashion16"
    batch_size: int = 64
    seed: int = 0
    channels: int = 4
    cells_per_stage: int = 1
    data_root: str | None = None
    device: str = "cpu"


@lru_cache(maxsize=4)
def proxy_batch(dataset: str, data_root: str | None, batch_size: int, seed: int) -> tuple[Batch, int]:
    """``batch_size`` training images drawn with ``seed`` (standardised as for training) and the class count."""
    from nasaudit.data.augment import normalize
    from nasaudit.data.loading import load_dataset

    splits = load_dataset(dataset, data_root, val_fraction=0.1, seed=seed)
    order = torch.randperm(len(splits.train), generator=torch.Generator().manual_seed(seed))[:batch_size]
    x = normalize(splits.train.x[order], torch.tensor(splits.mean), torch.tensor(splits.std)).contiguous()
    return Batch(x, splits.train.y[order].clone(), seed), splits.num_classes


def untrained_network(arch: Any, space: SearchSpace, setting: ProxySetting, num_classes: int,
                      in_channels: int) -> torch.nn.Module:
    """The network of ``arch`` initialised from ``torch.manual_seed(setting.seed)``."""
    from nasaudit.nn import build_network

    torch.manual_seed(setting.seed)
    size = {"channels": setting.channels, "cells_per_stage": setting.cells_per_stage} if space.family == "nb201" \
        else {}
    return build_network(arch, space, num_classes=num_classes, in_channels=in_channels, **size)


def score_archs(archs: Sequence[Any], space: SearchSpace, setting: ProxySetting, *, fuse: int = DEFAULT_FUSE
                ) -> np.ndarray:
    """The proxy ``setting.proxy`` of every architecture, in order (float64; NaN where it is undefined)."""
    proxy = PROXIES.get(setting.proxy)
    batch, num_classes = proxy_batch(setting.dataset, setting.data_root, setting.batch_size, setting.seed)
    batch = Batch(batch.x.to(setting.device), batch.y.to(setting.device), batch.seed)
    step = fuse if space.family == "nb201" else 1
    out = []
    for start in range(0, len(archs), step):
        networks = [untrained_network(a, space, setting, num_classes, batch.x.shape[1]).to(setting.device)
                    for a in archs[start:start + step]]
        channels, height, width = batch.x.shape[1:]
        stack = (Stack.fuse(networks, (channels, height, width)) if step > 1
                 else Stack.single(networks[0], copy=False))
        out.append(np.asarray(proxy.score(stack, batch, cross_entropy), dtype=np.float64))
    return np.concatenate(out) if out else np.empty(0)
