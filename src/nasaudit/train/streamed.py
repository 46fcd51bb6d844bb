"""Training on a dataset streamed from disk (ImageNet, ``data.imagenet_stream``) with the one ``TrainLoop``.

The loop's in-memory pieces are replaced by streamed ones: ``StreamedData`` holds the splits' labels (the images
stay on disk), ``StreamedBatches`` decodes each epoch's batches in ``workers`` loader processes (DARTS's random
crop, flip and colour jitter per image, from per-image seeds drawn from the epoch's generator, so a run's numbers
do not depend on the number of processes), then normalises on the device and applies the protocol's cutout and
mixup; ``StreamedStep`` scores a split by streaming it through the evaluation pre-processing. Checkpoints,
resuming, mixed precision, gradient clipping and the schedule are the loop's. Redundancy paper Table 2b and
selection paper Table 5 (the mobile setting).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasaudit.data.augment import cutout, mixup, normalize
from nasaudit.data.image_folders import FileIndex
from nasaudit.data.imagenet_stream import ImageFiles, StreamedSplits, load_streamed
from nasaudit.data.splits import Split
from nasaudit.errors import ConfigError
from nasaudit.nn.networks import build_network, count_flops, count_parameters
from nasaudit.spaces import get_space
from nasaudit.spaces.base import SearchSpace
from nasaudit.train.batches import Batch, BatchSource, DeviceData, batch_bounds
from nasaudit.train.loop import ModelStep, Schedule, TrainLoop, isolated_run, memory_format_for, resolve_device
from nasaudit.train.protocols import TrainProtocol, get_protocol
from nasaudit.train.result import EpochRecord, TrainResult

#: loader processes decoding images (at most; the results do not depend on it)
MAX_WORKERS = 64


def default_workers() -> int:
    """Loader processes: the machine's cores, at most 16."""
    return max(1, min(16, os.cpu_count() or 1))


class StreamedData(DeviceData):
    """The splits of a streamed dataset as the loop sees them: labels only (``Split.x`` is empty: the images are
    decoded from ``splits``' files batch by batch), with the dataset's normalisation on ``device``."""

    def __init__(self, splits: StreamedSplits, device: torch.device) -> None:
        self.name, self.device, self.splits = splits.name, device, splits
        empty = torch.empty((0, splits.in_channels, splits.image_size, splits.image_size), dtype=torch.uint8)
        self.parts = {name: Split(empty, torch.from_numpy(index.labels))
                      for name, index in (("train", splits.train), ("val", splits.val), ("test", splits.test))}
        self.mean = torch.tensor(splits.mean, device=device)
        self.std = torch.tensor(splits.std, device=device)

    def fixed_batches(self, name: str, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        raise ConfigError(f"dataset {self.name!r} is streamed from disk: its splits are not held as tensors")

    def index(self, name: str) -> FileIndex:
        return {"train": self.splits.train, "val": self.splits.val, "test": self.splits.test}[name]


def _loader(files: ImageFiles, batches: list[list[tuple[int, int]]], workers: int, device: torch.device) -> Any:
    from torch.utils.data import DataLoader

    return DataLoader(files, batch_sampler=batches, num_workers=workers, pin_memory=device.type == "cuda",
                      persistent_workers=False)


class StreamedBatches(BatchSource[Batch]):
    """An epoch of the streamed training split: a random order and one seed per image drawn from the epoch's
    ``rng``, batches of the protocol's size (a final batch of one image dropped, as ``ShuffledBatches`` does),
    decoded with DARTS's training pre-processing, normalised, cut out and mixed up on the device."""

    def __init__(self, data: StreamedData, protocol: TrainProtocol, memory_format: torch.memory_format,
                 workers: int) -> None:
        self.data, self.protocol, self.memory_format, self.workers = data, protocol, memory_format, workers

    def steps(self) -> int:
        n, size = len(self.data.splits.train), self.protocol.batch_size
        return n // size + (1 if n % size > 1 else 0)

    def epoch(self, epoch: int, generator: torch.Generator, rng: np.random.Generator) -> Iterator[Batch]:
        p, index, steps = self.protocol, self.data.splits.train, self.steps()
        order = rng.permutation(len(index)).tolist()
        seeds = rng.integers(0, 2**62, size=len(index)).tolist()
        alpha = p.augmentation.mixup_alpha
        lams = rng.beta(alpha, alpha, size=steps) if alpha > 0 else None
        bounds = batch_bounds(len(index), p.batch_size)[:steps]
        batches = [[(order[i], seeds[i]) for i in range(a, b)] for a, b in bounds]
        files = ImageFiles(index, train=True, size=self.data.splits.image_size, flip=p.augmentation.flip)
        device = self.data.device
        for step, (x, y) in enumerate(_loader(files, batches, self.workers, device)):
            x = normalize(x.to(device, non_blocking=True), self.data.mean, self.data.std)
            y = y.to(device, non_blocking=True)
            if p.augmentation.cutout:
                x = cutout(x, p.augmentation.pixels(p.augmentation.cutout, x.shape[-1]), generator)
            y_mix, lam = None, 1.0
            if lams is not None:
                lam = float(lams[step])
                x, y_mix = mixup(x, y, lam, generator)
            yield Batch(x.contiguous(memory_format=self.memory_format), y, y_mix, lam, epoch, step)


class StreamedStep(ModelStep):
    """``ModelStep`` whose evaluation streams the split through the evaluation pre-processing (resize, centre
    crop) in batches of the protocol's ``eval_batch_size``."""

    def __init__(self, model: nn.Module, aux_weight: float, workers: int) -> None:
        super().__init__(model, aux_weight)
        self.workers = workers

    @torch.no_grad()
    def evaluate(self, loop: TrainLoop[Batch], name: str, noise_seed: int) -> tuple[float, float]:
        data = loop.data
        if not isinstance(data, StreamedData):
            return loop.evaluate(name)
        index = data.index(name)
        if len(index) == 0:
            return math.nan, math.nan
        files = ImageFiles(index, train=False, size=data.splits.image_size, resize=data.splits.eval_resize)
        batches = [[(i, 0) for i in range(a, b)] for a, b in batch_bounds(len(index), loop.protocol.eval_batch_size)]
        self.model.eval()
        loss_sum = torch.zeros((), device=loop.device)
        correct = torch.zeros((), device=loop.device)
        for x, y in _loader(files, batches, self.workers, loop.device):
            x = normalize(x.to(loop.device, non_blocking=True), data.mean, data.std).contiguous(
                memory_format=loop.memory_format)
            y = y.to(loop.device, non_blocking=True)
            with loop.autocast():
                logits = self.model(x)
            loss_sum += nn.functional.cross_entropy(logits.float(), y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
        return float(loss_sum) / len(index), 100.0 * float(correct) / len(index)


def train_streamed(model: nn.Module, splits: StreamedSplits, protocol: str | TrainProtocol, *, seed: int,
                   checkpoint_dir: Path | None = None, device: str | None = None, progress: bool = True,
                   on_epoch_end: Callable[[EpochRecord], None] | None = None, threads: int = 1,
                   test_each_epoch: bool = False, workers: int | None = None) -> TrainResult:
    """``train.loop.train`` for a streamed dataset (module doc): the same records, checkpoints and result."""
    proto = get_protocol(protocol)
    workers = default_workers() if workers is None else workers
    if not 0 <= workers <= MAX_WORKERS:
        raise ConfigError(f"loader workers must be in [0, {MAX_WORKERS}], got {workers}")
    torch_device = resolve_device(device)
    run_key = {"seed": seed, "protocol": repr(proto), "dataset": splits.name,
               "sizes": [len(splits.train), len(splits.val), len(splits.test)], "model": type(model).__name__,
               "params": count_parameters(model, include_auxiliary=True), "threads": threads,
               "test_each_epoch": test_each_epoch, "streamed": True}
    evaluate = ("val", "test") if test_each_epoch else ("val",)
    with isolated_run(torch_device, threads):
        data = StreamedData(splits, torch_device)
        step = StreamedStep(model, proto.aux_weight, workers)
        batches = StreamedBatches(data, proto, memory_format_for(torch_device), workers)
        loop = TrainLoop(model, step, data, proto, torch_device, Schedule(proto), batches=batches)
        history, elapsed = loop.run(seed=seed, run_key=run_key, checkpoint_dir=checkpoint_dir, evaluate=evaluate,
                                    progress=progress, description=f"train {proto.name}", on_epoch_end=on_epoch_end)
        last = history[-1]
        if last.test_loss is not None and last.test_acc is not None:
            test_loss, test_acc = last.test_loss, last.test_acc
        else:
            started = time.perf_counter()
            test_loss, test_acc = step.evaluate(loop, "test", 0)
            elapsed += time.perf_counter() - started
    size = splits.image_size
    return TrainResult(
        protocol=proto.name, dataset=splits.name, seed=seed, history=tuple(history), final_val_acc=last.val_acc,
        test_loss=test_loss, test_acc=test_acc, params=count_parameters(model),
        flops=count_flops(model, (splits.in_channels, size, size)), wall_time_s=elapsed, device=str(torch_device),
    )


def train_streamed_arch(space: SearchSpace | str, arch: Any, *, protocol: str | TrainProtocol, dataset: str,
                        seed: int, data_root: str | Path | None = None, checkpoint_dir: Path | None = None,
                        device: str | None = None, val_fraction: float = 0.1, progress: bool = True,
                        on_epoch_end: Callable[[EpochRecord], None] | None = None, threads: int = 1,
                        test_each_epoch: bool = False, workers: int | None = None, **macro_kwargs: Any) -> TrainResult:
    """``train.arch.train_arch`` for a streamed dataset: the folder is indexed (its layout checked) before the
    network is built, the network gets the protocol's macro settings (the ImageNet protocols: the mobile-setting
    network) overridden by ``macro_kwargs``."""
    the_space = get_space(space) if isinstance(space, str) else space
    value = the_space.coerce(arch)
    proto = get_protocol(protocol)
    splits = load_streamed(dataset, data_root, val_fraction=val_fraction, seed=seed)
    macro = {**proto.macro.get(the_space.family, {}), **macro_kwargs}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_network(value, the_space, num_classes=splits.num_classes, in_channels=splits.in_channels,
                              **macro)
    result = train_streamed(model, splits, proto, seed=seed, checkpoint_dir=checkpoint_dir, device=device,
                            progress=progress, on_epoch_end=on_epoch_end, threads=threads,
                            test_each_epoch=test_each_epoch, workers=workers)
    return replace(result, arch=the_space.format(value), space=the_space.name, macro=macro)
