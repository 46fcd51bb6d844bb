"""The one training loop every protocol runs (SGD, cosine LR, optional aux head, drop path, mixup).

Reproducible: epoch ``e`` draws all its randomness (batch order, augmentation, mixup, drop path,
noise ops) from seeds derived from ``(seed, e)``, so resuming from the checkpoint written after any
epoch gives the same final numbers as an uninterrupted run. The global torch RNG is restored after
training. On CUDA the loop uses mixed precision (bfloat16, or float16 with loss scaling) and
channels-last tensors; on CPU it runs in float32.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn

from nasaudit.data.augment import mixup, normalize
from nasaudit.data.splits import DatasetSplits, Split
from nasaudit.errors import ConfigError, TrainingError
from nasaudit.nn.networks import count_flops, count_parameters
from nasaudit.train.checkpoint import load_checkpoint, save_checkpoint
from nasaudit.train.protocols import TrainProtocol, get_protocol
from nasaudit.train.result import EpochRecord, TrainResult


def resolve_device(device: str | None) -> torch.device:
    """``device`` as a torch device; ``None`` picks CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"invalid device {device!r}: {err}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {device!r} requested but CUDA is not available")
    return resolved


def epoch_seeds(seed: int, epoch: int) -> tuple[int, int]:
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint64)
    return int(state[0] >> np.uint64(1)), int(state[1] >> np.uint64(1))


def param_groups(model: nn.Module, protocol: TrainProtocol) -> list[dict[str, Any]]:
    if protocol.weight_decay_on_bn:
        return [{"params": list(model.parameters()), "weight_decay": protocol.weight_decay}]
    norm = {id(p) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            for p in m.parameters(recurse=False)}
    params = list(model.parameters())
    return [{"params": [p for p in params if id(p) not in norm], "weight_decay": protocol.weight_decay},
            {"params": [p for p in params if id(p) in norm], "weight_decay": 0.0}]


class _Runner:
    """Holds the device-side state of one run: model, data, optimiser, precision settings."""

    def __init__(self, model: nn.Module, splits: DatasetSplits, protocol: TrainProtocol,
                 device: torch.device) -> None:
        self.model, self.splits, self.protocol, self.device = model, splits, protocol, device
        self.cuda = device.type == "cuda"
        self.memory_format = torch.channels_last if self.cuda else torch.contiguous_format
        self.amp_dtype = (torch.bfloat16 if not self.cuda or torch.cuda.is_bf16_supported() else torch.float16)
        self.model.to(device=device, memory_format=self.memory_format)
        self.data = {name: Split(part.x.to(device), part.y.to(device))
                     for name, part in (("train", splits.train), ("val", splits.val), ("test", splits.test))}
        self.mean = torch.tensor(splits.mean, device=device)
        self.std = torch.tensor(splits.std, device=device)
        self.optimizer = torch.optim.SGD(param_groups(model, protocol), lr=protocol.lr,
                                         momentum=protocol.momentum, nesterov=protocol.nesterov)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.cuda and self.amp_dtype == torch.float16)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=protocol.label_smoothing)

    def _autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.cuda)

    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def train_epoch(self, epoch: int, seed: int) -> tuple[float, float, float]:
        """One pass over the training split; returns (lr at start, mean loss, accuracy %)."""
        p, model, train = self.protocol, self.model, self.data["train"]
        torch_seed, data_seed = epoch_seeds(seed, epoch)
        torch.manual_seed(torch_seed)
        generator = torch.Generator(device=self.device).manual_seed(data_seed)
        n = len(train)
        order = torch.randperm(n, generator=generator, device=self.device)
        # a final batch of one image would break batch norm; drop it (as a data loader with drop_last would)
        steps = n // p.batch_size + (1 if n % p.batch_size > 1 else 0)
        lams = np.random.default_rng([seed, epoch]).beta(p.augmentation.mixup_alpha, p.augmentation.mixup_alpha,
                                                         size=steps) if p.augmentation.mixup_alpha > 0 else None
        if hasattr(model, "drop_path_prob"):
            model.drop_path_prob = p.drop_path_at(epoch)
        model.train()
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device)
        seen = 0
        start_lr = p.learning_rate(epoch)
        self._set_lr(start_lr)
        for step in range(steps):
            if p.lr_per_step:
                self._set_lr(p.learning_rate(epoch + step / steps))
            idx = order[step * p.batch_size:(step + 1) * p.batch_size]
            x = p.augmentation.apply(train.x[idx], self.mean, self.std, generator)
            x = x.contiguous(memory_format=self.memory_format)
            y = y_mix = train.y[idx]
            lam = 1.0 if lams is None else float(lams[step])
            if lams is not None:
                x, y_mix = mixup(x, y, lam, generator)
            with self._autocast():
                out = model(x)
                logits, aux = out if isinstance(out, tuple) else (out, None)
                loss = lam * self.criterion(logits, y) + (1.0 - lam) * self.criterion(logits, y_mix)
                if aux is not None and p.aux_weight > 0:
                    loss = loss + p.aux_weight * (lam * self.criterion(aux, y)
                                                  + (1.0 - lam) * self.criterion(aux, y_mix))
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if p.grad_clip is not None:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), p.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            pred = logits.detach().argmax(1)
            loss_sum += loss.detach().float() * idx.numel()
            correct += lam * (pred == y).sum() + (1.0 - lam) * (pred == y_mix).sum()
            seen += idx.numel()
        mean_loss = float(loss_sum) / max(seen, 1)
        if not math.isfinite(mean_loss):
            raise TrainingError(
                f"training loss became {mean_loss} in epoch {epoch + 1} (learning rate {start_lr:.3g}); the run "
                "stopped. Lower the learning rate or check the data and the architecture."
            )
        return start_lr, mean_loss, 100.0 * float(correct) / max(seen, 1)

    @torch.no_grad()
    def evaluate(self, name: str) -> tuple[float, float]:
        """(mean loss, accuracy %) on split ``name``; NaN for an empty split."""
        part = self.data[name]
        if len(part) == 0:
            return math.nan, math.nan
        self.model.eval()
        loss_sum, correct = torch.zeros((), device=self.device), torch.zeros((), device=self.device)
        size = self.protocol.eval_batch_size
        for start in range(0, len(part), size):
            x = normalize(part.x[start:start + size], self.mean, self.std).contiguous(
                memory_format=self.memory_format)
            y = part.y[start:start + size]
            with self._autocast():
                logits = self.model(x)
            loss_sum += nn.functional.cross_entropy(logits.float(), y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
        return float(loss_sum) / len(part), 100.0 * float(correct) / len(part)


def _run_key(model: nn.Module, splits: DatasetSplits, protocol: TrainProtocol, seed: int) -> dict[str, Any]:
    return {"seed": seed, "protocol": repr(protocol), "dataset": splits.name,
            "sizes": [len(splits.train), len(splits.val), len(splits.test)],
            "model": type(model).__name__, "params": count_parameters(model, include_auxiliary=True)}


def train(model: nn.Module, splits: DatasetSplits, protocol: str | TrainProtocol, *, seed: int,
          checkpoint_dir: Path | None = None, device: str | None = None, progress: bool = True,
          on_epoch_end: Callable[[EpochRecord], None] | None = None) -> TrainResult:
    """Train ``model`` on ``splits`` under ``protocol`` (the papers' tables, see ``PROTOCOLS``).

    Records per-epoch train/validation loss and accuracy, checkpoints after every epoch into
    ``checkpoint_dir`` and resumes from it, stops with ``TrainingError`` on a NaN/inf loss, and
    evaluates the test split at the end. ``on_epoch_end`` is called after each epoch's checkpoint.
    """
    proto = get_protocol(protocol)
    if len(splits.train) < 2:
        raise ConfigError(f"dataset {splits.name!r} has {len(splits.train)} training images; need at least 2")
    torch_device = resolve_device(device)
    run_key = _run_key(model, splits, proto, seed)
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    devices = [torch_device.index or 0] if torch_device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        runner = _Runner(model, splits, proto, torch_device)
        history: list[EpochRecord] = []
        elapsed = 0.0
        state = load_checkpoint(folder, run_key) if folder is not None else None
        if state is not None:
            model.load_state_dict(state["model"])
            runner.optimizer.load_state_dict(state["optimizer"])
            runner.scaler.load_state_dict(state["scaler"])
            history = [EpochRecord(**record) for record in state["history"]]
            elapsed = float(state["elapsed"])
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
        with Progress(*columns, disable=not progress, transient=False) as bar:
            task = bar.add_task(f"train {proto.name}", total=proto.epochs, completed=len(history), status="")
            for epoch in range(len(history), proto.epochs):
                started = time.perf_counter()
                lr, train_loss, train_acc = runner.train_epoch(epoch, seed)
                val_loss, val_acc = runner.evaluate("val")
                seconds = time.perf_counter() - started
                elapsed += seconds
                record = EpochRecord(epoch + 1, lr, train_loss, train_acc, val_loss, val_acc, seconds)
                history.append(record)
                if folder is not None:
                    save_checkpoint(folder, {"run": run_key, "model": model.state_dict(),
                                             "optimizer": runner.optimizer.state_dict(),
                                             "scaler": runner.scaler.state_dict(),
                                             "history": [asdict(r) for r in history], "elapsed": elapsed})
                bar.update(task, advance=1, status=f"loss {train_loss:.3f} train {train_acc:.1f}% val {val_acc:.1f}%")
                if on_epoch_end is not None:
                    on_epoch_end(record)
        started = time.perf_counter()
        test_loss, test_acc = runner.evaluate("test")
        elapsed += time.perf_counter() - started
    return TrainResult(
        protocol=proto.name, dataset=splits.name, seed=seed, history=tuple(history),
        final_val_acc=history[-1].val_acc, test_loss=test_loss, test_acc=test_acc,
        params=count_parameters(model),
        flops=count_flops(model, (splits.in_channels, splits.image_size, splits.image_size)),
        wall_time_s=elapsed, device=str(torch_device),
    )
