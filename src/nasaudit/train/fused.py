"""Fused training: M small networks trained at once as one model (horizontal fusion, HFTA, MLSys 2021).

The fused model trains on ``TrainLoop`` (``train/loop.py``) with a fused step, and each model is trained exactly
as ``train`` would train it on its own: its own initialisation, its own batch order and augmentation (its own
``ShuffledBatches``) drawn from ``epoch_seeds(seed, epoch)`` through its own generator, its own mixup
coefficients, its own data split; the loss is the SUM over models of each model's mean loss (``Batch.loss`` on
its own logits), so every model's gradient is its separate gradient; SGD (momentum, Nesterov, weight decay) is
elementwise and so fuses exactly; gradient clipping is applied per model (``FusedNetwork.clip_grad_norm_``);
the tensors have ``TrainLoop``'s layout and the epoch means are taken as ``TrainLoop`` takes them. Results
equal separate training bit for bit where the kernels allow it (``nasaudit.nn.fused``; measured on CPU:
identical weights, losses and accuracies), so one builder job gives one result whatever ``fuse`` is (issue #22
item 17).

What fuses is what ``nasaudit.nn.fused`` fuses: NB201 networks of one macro shape, any cells (the
search-space papers' tiny-network benchmarks, search-phase paper Sec. 3.2). Wall time is shared: each
model's ``seconds`` and ``wall_time_s`` are the fused run's divided by M. On CUDA the loop uses the same
mixed precision as ``train``; with float16 loss scaling a skipped step (an inf gradient) skips it for all M.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasaudit.data.augment import normalize
from nasaudit.data.loading import load_dataset_seeds
from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError, TrainingError
from nasaudit.nn.fused import FusedNetwork
from nasaudit.nn.networks import build_network, count_flops, count_parameters
from nasaudit.spaces import get_space
from nasaudit.spaces.base import SearchSpace
from nasaudit.train.batches import Batch, BatchSource, DeviceData, ShuffledBatches
from nasaudit.train.loop import (
    EpochStats,
    Schedule,
    StepContext,
    TrainLoop,
    TrainStep,
    epoch_seeds,
    isolated_run,
    memory_format_for,
    resolve_device,
)
from nasaudit.train.protocols import TrainProtocol, get_protocol
from nasaudit.train.result import EpochRecord, TrainResult


def _check_splits(splits: Sequence[DatasetSplits]) -> None:
    first = splits[0]
    for other in splits[1:]:
        shape = (other.num_classes, other.in_channels, other.image_size)
        sizes = (len(other.train), len(other.val), len(other.test))
        if shape != (first.num_classes, first.in_channels, first.image_size) or sizes != (
                len(first.train), len(first.val), len(first.test)):
            raise ConfigError(f"fused models need data splits of one shape and size; {first.name!r} and "
                              f"{other.name!r} differ (classes, channels, size, train/val/test images)")
    if len(first.train) < 2:
        raise ConfigError(f"dataset {first.name!r} has {len(first.train)} training images; need at least 2")


@dataclass(frozen=True)
class FusedBatch:
    """One step's batch of every model (``parts``) and their images fused into one input ``x``."""

    x: torch.Tensor
    parts: tuple[Batch, ...]


def _fuse_inputs(xs: Sequence[torch.Tensor], memory_format: torch.memory_format) -> torch.Tensor:
    """M batches of (B, C, H, W) as one (B, M*C, H, W) batch, model-major channels."""
    return torch.stack(list(xs), 1).flatten(1, 2).contiguous(memory_format=memory_format)


class _FusedBatches(BatchSource[FusedBatch]):
    """Every model's ``ShuffledBatches``, each drawn from that model's own seed as its separate run draws them
    (the loop's generators, from the first seed, go unused), fused step by step."""

    def __init__(self, sources: Sequence[ShuffledBatches], seeds: Sequence[int],
                 memory_format: torch.memory_format) -> None:
        self.sources, self.seeds, self.memory_format = list(sources), list(seeds), memory_format

    def steps(self) -> int:
        return self.sources[0].steps()

    def epoch(self, epoch: int, generator: torch.Generator, rng: np.random.Generator) -> Iterator[FusedBatch]:
        del generator, rng  # each model draws from its own seed
        streams = []
        for source, seed in zip(self.sources, self.seeds, strict=True):
            _, data_seed = epoch_seeds(seed, epoch)  # the torch seed drives drop path / noise ops: none here
            own = torch.Generator(device=source.data.device).manual_seed(data_seed)
            streams.append(source.epoch(epoch, own, np.random.default_rng([seed, epoch])))
        for parts in zip(*streams, strict=True):
            yield FusedBatch(_fuse_inputs([batch.x for batch in parts], self.memory_format), parts)


class _FusedStep(TrainStep[FusedBatch]):
    """The fused model's step: the sum over models of each model's mean loss, clipped per model; every model's
    epoch numbers (``train_loss``, ``train_acc``) and scores (``scores[split]``) counted as ``TrainLoop`` counts
    a separate run's, the loop's own being their means."""

    def __init__(self, fused: FusedNetwork, data: Sequence[DeviceData], seeds: Sequence[int]) -> None:
        self.fused, self.data, self.seeds = fused, list(data), list(seeds)
        self.train_loss: list[float] = []
        self.train_acc: list[float] = []
        self.scores: dict[str, tuple[list[float], list[float]]] = {}
        self._loss_sums: list[torch.Tensor] = []
        self._corrects: list[torch.Tensor] = []
        self._seen = 0

    def begin_epoch(self, epoch: int, lr: float) -> None:
        device = self.data[0].device
        self._loss_sums = [torch.zeros((), device=device) for _ in self.seeds]
        self._corrects = [torch.zeros((), device=device) for _ in self.seeds]
        self._seen = 0

    def train_step(self, batch: FusedBatch, rng: np.random.Generator, ctx: StepContext) -> None:
        with ctx.autocast():
            logits = self.fused(batch.x)  # (B, M, classes)
            per_model = [logits[:, m].contiguous() for m in range(len(batch.parts))]
            losses = [part.loss(ctx.criterion, out) for part, out in zip(batch.parts, per_model, strict=True)]
        ctx.backward(torch.stack(losses).sum())
        size = batch.parts[0].size
        for m, (part, out, loss) in enumerate(zip(batch.parts, per_model, losses, strict=True)):
            self._loss_sums[m] += loss.detach().float() * size
            self._corrects[m] += part.correct(out)
        self._seen += size

    def clip_gradients(self, model: nn.Module, max_norm: float) -> None:
        self.fused.clip_grad_norm_(max_norm)

    def after_update(self, batch: FusedBatch, rng: np.random.Generator, ctx: StepContext) -> None:
        self.fused.restore_unused_()

    def end_epoch(self, epoch: int, stats: EpochStats) -> EpochStats:
        seen = max(self._seen, 1)
        self.train_loss = [float(total) / seen for total in self._loss_sums]
        self.train_acc = [100.0 * float(total) / seen for total in self._corrects]
        bad = [m for m, value in enumerate(self.train_loss) if not math.isfinite(value)]
        if bad:
            raise TrainingError(
                f"training loss became non-finite for fused model(s) {bad} (seeds {[self.seeds[m] for m in bad]}) "
                f"in epoch {epoch + 1} (learning rate {stats.lr:.3g}); the run stopped. Lower the learning rate "
                "or train those separately."
            )
        return EpochStats(stats.lr, float(np.mean(self.train_loss)), float(np.mean(self.train_acc)))

    @torch.no_grad()
    def evaluate(self, loop: TrainLoop[FusedBatch], name: str, noise_seed: int) -> tuple[float, float]:
        """Every model's (mean loss, accuracy %) on split ``name``, each its own, summed as ``TrainLoop.evaluate``
        sums them, into ``scores[name]``; NaN for an empty split. Returns their means."""
        parts = [data.parts[name] for data in self.data]
        size = len(parts[0])
        if size == 0:
            self.scores[name] = [math.nan] * len(parts), [math.nan] * len(parts)
            return math.nan, math.nan
        self.fused.eval()
        loss_sums = [torch.zeros((), device=loop.device) for _ in parts]
        corrects = [torch.zeros((), device=loop.device) for _ in parts]
        step = loop.protocol.eval_batch_size
        for start in range(0, size, step):
            x = _fuse_inputs([normalize(part.x[start:start + step], data.mean, data.std)
                              for part, data in zip(parts, self.data, strict=True)], loop.memory_format)
            with loop.autocast():
                logits = self.fused(x)
            for m, part in enumerate(parts):
                out, y = logits[:, m].contiguous(), part.y[start:start + step]
                loss_sums[m] += nn.functional.cross_entropy(out.float(), y, reduction="sum")
                corrects[m] += (out.argmax(1) == y).sum()
        losses, accs = [float(total) / size for total in loss_sums], [100.0 * float(total) / size for total in corrects]
        self.scores[name] = losses, accs
        return float(np.mean(losses)), float(np.mean(accs))


def train_models_fused(models: Sequence[nn.Module], splits: DatasetSplits | Sequence[DatasetSplits],
                       protocol: str | TrainProtocol, *, seeds: Sequence[int], device: str | None = None,
                       progress: bool = True, on_epoch_end: Callable[[int, EpochRecord], None] | None = None,
                       threads: int = 1, test_each_epoch: bool = False, warmup_epochs: int = 0) -> list[TrainResult]:
    """Train ``models[m]`` with ``seeds[m]`` on ``splits`` (one for all, or one per model) under ``protocol``,
    all at once as one fused model (HFTA; module doc), as ``train`` would train each with the same
    ``threads``, ``test_each_epoch`` and ``warmup_epochs``; the trained weights are written back into
    ``models``. ``on_epoch_end(m, record)`` is called for every model after each epoch. Returns one
    ``TrainResult`` per model, in order. There are no checkpoints: a fused run restarts from scratch.
    """
    proto = get_protocol(protocol)
    parts = [splits] * len(models) if isinstance(splits, DatasetSplits) else list(splits)
    if not models or len(parts) != len(models) or len(seeds) != len(models):
        raise ConfigError(f"fused training needs one seed and one data split per model, got {len(models)} "
                          f"model(s), {len(seeds)} seed(s) and {len(parts)} split(s)")
    _check_splits(parts)
    torch_device = resolve_device(device)
    first = parts[0]
    shape = (first.in_channels, first.image_size, first.image_size)
    counted: dict[str, tuple[int, int]] = {}  # per network structure: seeds of one architecture count once
    for model in models:
        if repr(model) not in counted:
            counted[repr(model)] = count_parameters(model), count_flops(model, shape)
    params, flops = zip(*(counted[repr(model)] for model in models), strict=True)
    share = 1.0 / len(models)
    with isolated_run(torch_device, threads):
        distinct: dict[int, DeviceData] = {}  # each distinct split goes to the device once
        for part in parts:
            if id(part) not in distinct:
                distinct[id(part)] = DeviceData(part, torch_device)
        data = [distinct[id(part)] for part in parts]
        fused = FusedNetwork(models, shape)
        # the layout ``TrainLoop`` trains these networks in: kernels sum in an order that depends on it, and each
        # model must see the numbers its separate run sees
        memory_format = memory_format_for(torch_device)
        step = _FusedStep(fused, data, seeds)
        batches = _FusedBatches([ShuffledBatches(d, proto, memory_format) for d in data], seeds, memory_format)
        loop = TrainLoop(fused, step, data[0], proto, torch_device, Schedule(proto, warmup_epochs), batches=batches)
        histories: list[list[EpochRecord]] = [[] for _ in models]

        def per_model(record: EpochRecord) -> None:
            val_loss, val_acc = step.scores["val"]
            tests = step.scores["test"] if test_each_epoch else None
            for m, history in enumerate(histories):
                history.append(EpochRecord(
                    record.epoch, record.lr, step.train_loss[m], step.train_acc[m], val_loss[m], val_acc[m],
                    record.seconds * share, None if tests is None else tests[0][m],
                    None if tests is None else tests[1][m]))
                if on_epoch_end is not None:
                    on_epoch_end(m, history[-1])

        evaluate = ("val", "test") if test_each_epoch else ("val",)
        _, elapsed = loop.run(seed=seeds[0], run_key={}, evaluate=evaluate, progress=progress,
                              description=f"train {len(models)} fused {proto.name}", on_epoch_end=per_model)
        if not test_each_epoch:
            started = time.perf_counter()
            step.evaluate(loop, "test", 0)
            elapsed += time.perf_counter() - started
        fused.store_models(models)
    test_loss, test_acc = step.scores["test"]
    return [TrainResult(protocol=proto.name, dataset=first.name, seed=seed, history=tuple(history),
                        final_val_acc=history[-1].val_acc, test_loss=test_loss[m], test_acc=test_acc[m],
                        params=params[m], flops=flops[m], wall_time_s=elapsed * share, device=str(torch_device))
            for m, (seed, history) in enumerate(zip(seeds, histories, strict=True))]


def train_fused(archs: Sequence[Any], seeds: Sequence[int], space: SearchSpace | str = "nb201", *,
                protocol: str | TrainProtocol, dataset: str | DatasetSplits, data_root: str | Path | None = None,
                device: str | None = None, val_fraction: float = 0.1, progress: bool = True,
                on_epoch_end: Callable[[int, EpochRecord], None] | None = None, threads: int = 1,
                test_each_epoch: bool = False, **macro_kwargs: Any) -> list[TrainResult]:
    """Train ``archs[i]`` with ``seeds[i]`` for every ``i``, fused into one model, and return what
    ``train_arch(space, archs[i], seed=seeds[i], ...)`` returns for each (same fields; search-phase paper
    Sec. 3.2 benchmark building). Architectures may differ (NB201 cells fuse edge by edge); the macro
    network must be one shape. A dataset name loads one split per distinct seed, as ``train_arch`` does.
    ``on_epoch_end(i, record)``, ``threads`` and ``test_each_epoch`` are passed to ``train_models_fused``.
    """
    the_space = get_space(space) if isinstance(space, str) else space
    if len(archs) != len(seeds) or not archs:
        raise ConfigError(f"train_fused needs one seed per architecture, got {len(archs)} architecture(s) and "
                          f"{len(seeds)} seed(s)")
    values = [the_space.coerce(arch) for arch in archs]
    proto = get_protocol(protocol)
    loaded = {} if isinstance(dataset, DatasetSplits) else load_dataset_seeds(
        dataset, data_root, val_fraction=val_fraction, seeds=seeds)  # the files are read once
    splits = [dataset if isinstance(dataset, DatasetSplits) else loaded[seed] for seed in seeds]
    macros = [{**proto.macro.get(the_space.family, {}), **macro_kwargs} for value in values]
    models = []
    with torch.random.fork_rng(devices=[]):
        for value, seed, macro, part in zip(values, seeds, macros, splits, strict=True):
            torch.manual_seed(seed)
            models.append(build_network(value, the_space, num_classes=part.num_classes,
                                        in_channels=part.in_channels, **macro))
    results = train_models_fused(models, splits, proto, seeds=seeds, device=device, progress=progress,
                                 on_epoch_end=on_epoch_end, threads=threads, test_each_epoch=test_each_epoch)
    return [replace(result, arch=the_space.format(value), space=the_space.name, macro=macro)
            for result, value, macro in zip(results, values, macros, strict=True)]
