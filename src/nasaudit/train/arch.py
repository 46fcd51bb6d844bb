"""``train_arch``: build an architecture's network for a protocol and dataset, then train it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from nasaudit.data.loading import load_dataset
from nasaudit.data.splits import DatasetSplits
from nasaudit.nn.networks import build_network
from nasaudit.spaces import get_space
from nasaudit.spaces.base import SearchSpace
from nasaudit.train.loop import train
from nasaudit.train.protocols import TrainProtocol, get_protocol
from nasaudit.train.result import EpochRecord, TrainResult


def train_arch(space: SearchSpace | str, arch: Any, *, protocol: str | TrainProtocol,
               dataset: str | DatasetSplits, seed: int, data_root: str | Path | None = None,
               checkpoint_dir: Path | None = None, device: str | None = None, val_fraction: float = 0.1,
               progress: bool = True, on_epoch_end: Callable[[EpochRecord], None] | None = None,
               threads: int = 1, test_each_epoch: bool = False, **macro_kwargs: Any) -> TrainResult:
    """Train ``arch`` from scratch under a named protocol (``PROTOCOLS``; papers cited there).

    The network gets the protocol's macro settings for the space family, overridden by
    ``macro_kwargs``; weights are initialised from ``seed``, which also draws the validation split
    (``val_fraction`` of the training images) when ``dataset`` is a name. ``on_epoch_end``,
    ``threads`` and ``test_each_epoch`` are passed to ``train``.
    """
    the_space = get_space(space) if isinstance(space, str) else space
    value = the_space.coerce(arch)
    proto = get_protocol(protocol)
    splits = dataset if isinstance(dataset, DatasetSplits) else load_dataset(
        dataset, data_root, val_fraction=val_fraction, seed=seed)
    macro = {**proto.macro.get(the_space.family, {}), **macro_kwargs}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_network(value, the_space, num_classes=splits.num_classes, in_channels=splits.in_channels,
                              **macro)
    result = train(model, splits, proto, seed=seed, checkpoint_dir=checkpoint_dir, device=device,
                   progress=progress, on_epoch_end=on_epoch_end, threads=threads, test_each_epoch=test_each_epoch)
    return replace(result, arch=the_space.format(value), space=the_space.name, macro=macro)
