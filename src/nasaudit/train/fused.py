"""Fused training: M small networks trained at once as one model (horizontal fusion, HFTA, MLSys 2021).

Each model is trained exactly as ``train`` (``train/loop.py``) would train it on its own: its own
initialisation, its own batch order and augmentation drawn from ``epoch_seeds(seed, epoch)`` through its
own generator, its own mixup coefficients, its own data split; the loss is the SUM over models of each
model's mean loss (``Batch.loss`` on its own logits), so every model's gradient is its separate gradient;
SGD (momentum, Nesterov, weight decay) is elementwise and so fuses exactly; gradient clipping is applied per
model (``FusedNetwork.clip_grad_norm_``); the tensors have ``TrainLoop``'s layout and the epoch means are taken
as ``TrainLoop`` takes them. Results equal separate training bit for bit where the kernels allow it
(``nasaudit.nn.fused``; measured on CPU: identical weights, losses and accuracies), so one builder job gives one
result whatever ``fuse`` is (issue #22 item 17).

What fuses is what ``nasaudit.nn.fused`` fuses: NB201 networks of one macro shape, any cells (the
search-space papers' tiny-network benchmarks, search-phase paper Sec. 3.2). Wall time is shared: each
model's ``seconds`` and ``wall_time_s`` are the fused run's divided by M. On CUDA the loop uses the same
mixed precision as ``train``; with float16 loss scaling a skipped step (an inf gradient) skips it for all M.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn

from nasaudit._console import stderr_console
from nasaudit.data.augment import mixup, normalize
from nasaudit.data.loading import load_dataset_seeds
from nasaudit.data.splits import DatasetSplits, Split
from nasaudit.errors import ConfigError, TrainingError
from nasaudit.nn.fused import FusedNetwork
from nasaudit.nn.networks import build_network, count_flops, count_parameters
from nasaudit.spaces import get_space
from nasaudit.spaces.base import SearchSpace
from nasaudit.train.loop import (
    Batch,
    Schedule,
    epoch_seeds,
    isolated_run,
    memory_format_for,
    param_groups,
    resolve_device,
)
from nasaudit.train.protocols import TrainProtocol, get_protocol, make_optimizer
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


class _FusedRunner:
    """Device-side state of one fused run: the fused model, each model's data, the optimiser."""

    def __init__(self, models: Sequence[nn.Module], splits: Sequence[DatasetSplits], protocol: TrainProtocol,
                 device: torch.device, schedule: Schedule) -> None:
        first = splits[0]
        self.protocol, self.device, self.models, self.schedule = protocol, device, len(models), schedule
        self.cuda = device.type == "cuda"
        # the layout ``TrainLoop`` trains these networks in: kernels sum in an order that depends on it, and each
        # model must see the numbers its separate run sees
        self.memory_format = memory_format_for(models[0], device)
        self.amp_dtype = torch.bfloat16 if not self.cuda or torch.cuda.is_bf16_supported() else torch.float16
        self.fused = FusedNetwork(models, (first.in_channels, first.image_size, first.image_size))
        self.fused.to(device=device, memory_format=self.memory_format)  # type: ignore[call-overload]
        distinct: dict[int, int] = {}
        self.which = [distinct.setdefault(id(s), len(distinct)) for s in splits]
        unique = {index: s for s, index in zip(splits, self.which, strict=True)}
        self.data = [{name: Split(part.x.to(device), part.y.to(device))
                      for name, part in (("train", s.train), ("val", s.val), ("test", s.test))}
                     for _, s in sorted(unique.items())]
        self.mean = [torch.tensor(s.mean, device=device) for s in splits]
        self.std = [torch.tensor(s.std, device=device) for s in splits]
        self.optimizer = make_optimizer(param_groups(self.fused, protocol), protocol)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.cuda and self.amp_dtype == torch.float16)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=protocol.label_smoothing)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.cuda)

    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def _fuse_inputs(self, xs: list[torch.Tensor]) -> torch.Tensor:
        """M batches of (B, C, H, W) as one (B, M*C, H, W) batch, model-major channels."""
        return torch.stack(xs, 1).flatten(1, 2).contiguous(memory_format=self.memory_format)

    def train_epoch(self, epoch: int, seeds: Sequence[int]) -> tuple[float, list[float], list[float]]:
        """One pass of every model over its training split; (lr at start, M mean losses, M accuracies %).

        Every number a model sees is the one ``TrainLoop.train_epoch`` computes for it alone: its batch order,
        crops and mixup from its own generators, its loss and accuracy by ``Batch`` on its own logits, the
        epoch means in Python floats."""
        p, device = self.protocol, self.device
        n = len(self.data[0]["train"])
        steps = n // p.batch_size + (1 if n % p.batch_size > 1 else 0)  # as ``train``: no final batch of one
        generators, orders, lams = [], [], []
        for seed in seeds:
            _, data_seed = epoch_seeds(seed, epoch)  # the torch seed drives drop path / noise ops: none here
            generator = torch.Generator(device=device).manual_seed(data_seed)
            generators.append(generator)
            orders.append(torch.randperm(n, generator=generator, device=device))
            alpha = p.augmentation.mixup_alpha
            lams.append(np.random.default_rng([seed, epoch]).beta(alpha, alpha, size=steps) if alpha > 0 else None)
        self.fused.train()
        loss_sums = [torch.zeros((), device=device) for _ in range(self.models)]
        corrects = [torch.zeros((), device=device) for _ in range(self.models)]
        seen = 0
        start_lr = self.schedule.learning_rate(epoch)
        self._set_lr(start_lr)
        for step in range(steps):
            lr = self.schedule.step_rate(epoch, step, steps)
            if lr is not None:
                self._set_lr(lr)
            batches = []
            for m in range(self.models):
                train = self.data[self.which[m]]["train"]
                idx = orders[m][step * p.batch_size:(step + 1) * p.batch_size]
                x = p.augmentation.apply(train.x[idx], self.mean[m], self.std[m], generators[m])
                y, y_mix, lam = train.y[idx], None, 1.0
                if lams[m] is not None:
                    lam = float(lams[m][step])  # type: ignore[index]
                    x, y_mix = mixup(x, y, lam, generators[m])
                batches.append(Batch(x, y, y_mix, lam, epoch, step))
            x = self._fuse_inputs([batch.x for batch in batches])
            with self._autocast():
                logits = self.fused(x)  # (B, M, classes)
                per_model = [logits[:, m].contiguous() for m in range(self.models)]
                losses = [batch.loss(self.criterion, out) for batch, out in zip(batches, per_model, strict=True)]
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(torch.stack(losses).sum()).backward()
            if p.grad_clip is not None:
                self.scaler.unscale_(self.optimizer)
                self.fused.clip_grad_norm_(p.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.fused.restore_unused_()
            size = batches[0].size
            for m, (batch, out, loss) in enumerate(zip(batches, per_model, losses, strict=True)):
                loss_sums[m] += loss.detach().float() * size
                corrects[m] += batch.correct(out)
            seen += size
        mean_loss = [float(total) / max(seen, 1) for total in loss_sums]
        bad = [m for m, value in enumerate(mean_loss) if not math.isfinite(value)]
        if bad:
            raise TrainingError(
                f"training loss became non-finite for fused model(s) {bad} (seeds {[seeds[m] for m in bad]}) in "
                f"epoch {epoch + 1} (learning rate {start_lr:.3g}); the run stopped. Lower the learning rate or "
                "train those separately."
            )
        return start_lr, mean_loss, [100.0 * float(total) / max(seen, 1) for total in corrects]

    @torch.no_grad()
    def evaluate(self, name: str) -> tuple[list[float], list[float]]:
        """Per-model (mean loss, accuracy %) on split ``name`` (each model its own, summed as
        ``TrainLoop.evaluate`` sums them); NaN for an empty split."""
        size = len(self.data[0][name])
        if size == 0:
            return [math.nan] * self.models, [math.nan] * self.models
        self.fused.eval()
        loss_sums = [torch.zeros((), device=self.device) for _ in range(self.models)]
        corrects = [torch.zeros((), device=self.device) for _ in range(self.models)]
        step = self.protocol.eval_batch_size
        parts = [self.data[self.which[m]][name] for m in range(self.models)]
        for start in range(0, size, step):
            x = self._fuse_inputs([normalize(part.x[start:start + step], self.mean[m], self.std[m])
                                   for m, part in enumerate(parts)])
            with self._autocast():
                logits = self.fused(x)
            for m, part in enumerate(parts):
                out, y = logits[:, m].contiguous(), part.y[start:start + step]
                loss_sums[m] += nn.functional.cross_entropy(out.float(), y, reduction="sum")
                corrects[m] += (out.argmax(1) == y).sum()
        return ([float(total) / size for total in loss_sums], [100.0 * float(total) / size for total in corrects])


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
        runner = _FusedRunner(models, parts, proto, torch_device, Schedule(proto, warmup_epochs))
        histories: list[list[EpochRecord]] = [[] for _ in models]
        elapsed = 0.0
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
        with Progress(*columns, console=stderr_console(), disable=not progress, transient=True) as bar:
            task = bar.add_task(f"train {len(models)} fused {proto.name}", total=proto.epochs, status="")
            for epoch in range(proto.epochs):
                started = time.perf_counter()
                lr, train_loss, train_acc = runner.train_epoch(epoch, seeds)
                val_loss, val_acc = runner.evaluate("val")
                seconds = (time.perf_counter() - started) * share
                tests = runner.evaluate("test") if test_each_epoch else None
                elapsed += (time.perf_counter() - started) * share
                for m, history in enumerate(histories):
                    history.append(EpochRecord(
                        epoch + 1, lr, float(train_loss[m]), float(train_acc[m]), float(val_loss[m]),
                        float(val_acc[m]), seconds, None if tests is None else float(tests[0][m]),
                        None if tests is None else float(tests[1][m])))
                    if on_epoch_end is not None:
                        on_epoch_end(m, history[-1])
                bar.update(task, advance=1, status=f"mean loss {float(np.mean(train_loss)):.3f} "
                                                   f"val {float(np.mean(val_acc)):.1f}%")
        if tests is None:
            started = time.perf_counter()
            tests = runner.evaluate("test")
            elapsed += (time.perf_counter() - started) * share
        runner.fused.store_models(models)
    return [TrainResult(protocol=proto.name, dataset=first.name, seed=seed, history=tuple(history),
                        final_val_acc=history[-1].val_acc, test_loss=float(tests[0][m]), test_acc=float(tests[1][m]),
                        params=params[m], flops=flops[m], wall_time_s=elapsed, device=str(torch_device))
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
