"""The one training loop: stand-alone networks, weight-sharing supernets, differentiable searches and fused
training, each a plugged-in step on its batches.

``TrainLoop`` owns everything an epoch needs besides the forward pass: seeding per ``(seed, epoch)``,
the learning-rate schedule with optional linear warm-up (single-path paper Sec. 4.3), drop path, gradient
clipping, mixed precision (bfloat16, or float16 with loss scaling, on CUDA) and channels-last tensors
(CUDA), a checkpoint after every epoch with exact resume, stopping on a NaN/inf loss, per-epoch evaluation
and the progress bar. A ``BatchSource`` (``train/batches.py``) yields an epoch's batches from the epoch's
generators: by default ``ShuffledBatches`` (batch order, augmentation, mixup). A ``TrainStep`` does one
optimiser step's forward and backward passes, with hooks around them: ``ModelStep`` for a stand-alone
network (its loss, plus an optional auxiliary head's), ``nasaudit.weight_sharing.supernet.training.PathStep`` for a
single-path supernet (sample the paths, then forward/backward each),
``nasaudit.weight_sharing.differentiable.search.SearchStep`` for a differentiable search (the alpha step before or after
the weight update, per-epoch temperature or perturbation, SGAS decisions after an epoch, validation with
the search's forward argument) and ``nasaudit.train.fused``'s step for M networks trained as one. A step
with state of its own (e.g. a differentiable-NAS architect) returns it from ``state_dict`` and it is
checkpointed with the weights.

Reproducible: epoch ``e`` draws all its randomness (batch order, augmentation, mixup, drop path,
noise ops, paths) from seeds derived from ``(seed, e)``, so resuming from the checkpoint written after
any epoch gives the same final numbers as an uninterrupted run. The global torch RNG is restored
after training, and the run uses a fixed number of torch threads (restored after), so its numbers do
not depend on the caller's thread setting. On CPU everything runs in float32.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn

from nasaudit._console import stderr_console
from nasaudit.data.augment import normalize
from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError, TrainingError
from nasaudit.nn.networks import count_flops, count_parameters
from nasaudit.train.batches import Batch, BatchSource, DeviceData, ShuffledBatches
from nasaudit.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, restoring, save_checkpoint
from nasaudit.train.protocols import TrainProtocol, get_protocol, make_optimizer
from nasaudit.train.result import EpochRecord, TrainResult

B = TypeVar("B")


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


def memory_format_for(device: torch.device) -> torch.memory_format:
    """The tensor layout networks train in on ``device``: channels-last on CUDA, contiguous on CPU. Separate and
    fused training (``train/fused.py``) both take it from here, so they sum in the same order. (Channels-last NB201
    networks on CPU were ~10% faster, but then the BatchNorm backward of a model inside a fused tensor receives
    its gradient in another layout than the separate network's and sums it otherwise: not bit for bit.)"""
    return torch.channels_last if device.type == "cuda" else torch.contiguous_format


def epoch_seeds(seed: int, epoch: int) -> tuple[int, int]:
    """The (torch global, data generator) seeds of epoch ``epoch`` of a run seeded ``seed``."""
    state = np.random.SeedSequence([seed, epoch]).generate_state(2, dtype=np.uint64)
    return int(state[0] >> np.uint64(1)), int(state[1] >> np.uint64(1))


def param_groups(model: nn.Module, protocol: TrainProtocol) -> list[dict[str, Any]]:
    """Optimiser parameter groups: weight decay on all parameters, or on all but batch-norm ones."""
    if protocol.weight_decay_on_bn:
        return [{"params": list(model.parameters()), "weight_decay": protocol.weight_decay}]
    norm = {id(p) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
            for p in m.parameters(recurse=False)}
    params = list(model.parameters())
    return [{"params": [p for p in params if id(p) not in norm], "weight_decay": protocol.weight_decay},
            {"params": [p for p in params if id(p) in norm], "weight_decay": 0.0}]


@contextmanager
def isolated_run(device: torch.device, threads: int) -> Iterator[None]:
    """Run the block with ``threads`` torch threads and a forked global RNG, both restored afterwards."""
    if threads < 1:
        raise ConfigError(f"threads must be a positive integer, got {threads}")
    before = torch.get_num_threads()
    devices = [device.index or 0] if device.type == "cuda" else []
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class Schedule:
    """Learning rate of every step: linear warm-up from 0 over ``warmup_epochs`` (single-path paper
    Sec. 4.3), then the protocol's cosine annealing, per step when the protocol anneals per step (NB201)
    and during warm-up, else per epoch. ``at_step_end`` takes a step's rate at the end of the step
    instead of its start (so the first warm-up step does not get a rate of 0)."""

    protocol: TrainProtocol
    warmup_epochs: int = 0
    at_step_end: bool = False

    def __post_init__(self) -> None:
        if self.warmup_epochs < 0:
            raise ConfigError(f"warmup_epochs must be >= 0, got {self.warmup_epochs}")

    def learning_rate(self, progress: float) -> float:
        """The rate after ``progress`` epochs."""
        if progress < self.warmup_epochs:
            return self.protocol.lr * min(1.0, progress / self.warmup_epochs)
        return self.protocol.learning_rate(progress)

    def step_rate(self, epoch: int, step: int, steps: int) -> float | None:
        """The rate of step ``step`` of ``steps`` in ``epoch``; ``None`` keeps the epoch's rate."""
        if not (self.protocol.lr_per_step or epoch < self.warmup_epochs):
            return None
        return self.learning_rate(epoch + (step + int(self.at_step_end)) / steps)


class StepContext:
    """What the loop lends a step for one optimiser step: autocast, (scaled) backward, the criterion
    and the epoch's running loss/accuracy."""

    def __init__(self, loop: TrainLoop[Any]) -> None:
        self._loop = loop
        self.criterion = loop.criterion
        self.loss_sum = torch.zeros((), device=loop.device)
        self.correct = torch.zeros((), device=loop.device)
        self.seen = 0

    def autocast(self) -> torch.autocast:
        """Mixed precision on CUDA, a no-op on CPU."""
        return self._loop.autocast()

    def backward(self, loss: torch.Tensor) -> None:
        """Accumulate the gradients of ``loss`` (scaled when training in float16)."""
        self._loop.scaler.scale(loss).backward()

    def record(self, loss: torch.Tensor, correct: torch.Tensor, n: int) -> None:
        """Count a forward pass of ``n`` images (mean ``loss``, ``correct`` predictions) in the epoch's numbers."""
        self.loss_sum += loss.detach().float() * n
        self.correct += correct
        self.seen += n


@dataclass(frozen=True)
class EpochStats:
    """An epoch's learning rate at its start, its mean training loss and accuracy (%)."""

    lr: float
    loss: float
    acc: float


class TrainStep(ABC, Generic[B]):
    """One optimiser step's forward/backward passes on a batch of type ``B`` (the loop zeroes, clips and
    applies the gradients), and the hooks around them, which do nothing unless overridden.

    A step with state beyond the model weights (e.g. architecture parameters and their optimiser)
    overrides ``state_dict``/``load_state_dict`` so that a resumed run continues exactly.
    """

    def begin_epoch(self, epoch: int, lr: float) -> None:
        """Before the first batch of ``epoch``, whose learning rate starts at ``lr``."""

    @abstractmethod
    def train_step(self, batch: B, rng: np.random.Generator, ctx: StepContext) -> None:
        """Forward ``batch``, ``ctx.backward`` the loss(es), ``ctx.record`` the numbers; ``rng`` is the
        epoch's generator (seeded by ``(seed, epoch)``) for any sampling the step does."""

    def clip_gradients(self, model: nn.Module, max_norm: float) -> None:
        """Clip the step's gradients to the protocol's ``grad_clip``: by default their norm over all of ``model``."""
        nn.utils.clip_grad_norm_(model.parameters(), max_norm)

    def after_update(self, batch: B, rng: np.random.Generator, ctx: StepContext) -> None:
        """After the optimiser applied the step's gradients."""

    def end_epoch(self, epoch: int, stats: EpochStats) -> EpochStats:
        """After the last update of ``epoch``; returns the epoch's numbers: the loop's count of ``ctx.record``
        (``stats``), unless the step counts its own."""
        return stats

    def evaluate(self, loop: TrainLoop[B], name: str, noise_seed: int) -> tuple[float, float]:
        """(mean loss, accuracy %) on split ``name`` after an epoch, any noise drawn from ``noise_seed`` (the
        epoch's data seed): by default ``loop.evaluate``, the model's plain forward pass."""
        return loop.evaluate(name)

    def state_dict(self) -> dict[str, Any]:
        """Extra state to checkpoint (none by default)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned (nothing by default)."""
        if state:
            raise ConfigError(f"the checkpoint holds step state {sorted(state)} that {type(self).__name__} "
                              "does not take; use another checkpoint folder")


class ModelStep(TrainStep[Batch]):
    """Stand-alone training: the network's loss on the batch, plus ``aux_weight`` times its auxiliary
    head's loss (DARTS, Liu et al., 2019, Sec. 3.3; redundancy paper App. B.2)."""

    def __init__(self, model: nn.Module, aux_weight: float = 0.0) -> None:
        self.model, self.aux_weight = model, aux_weight

    def train_step(self, batch: Batch, rng: np.random.Generator, ctx: StepContext) -> None:
        with ctx.autocast():
            out = self.model(batch.x)
            logits, aux = out if isinstance(out, tuple) else (out, None)
            loss = batch.loss(ctx.criterion, logits)
            if aux is not None and self.aux_weight > 0:
                loss = loss + self.aux_weight * batch.loss(ctx.criterion, aux)
        ctx.backward(loss)
        ctx.record(loss, batch.correct(logits), batch.size)


class TrainLoop(Generic[B]):
    """Device-side state of one run (module doc): ``model`` trained by ``step`` on the batches of ``batches``
    (default ``ShuffledBatches`` of ``data``'s training split) under ``protocol`` with ``optimizer`` (default the
    protocol's over ``param_groups``; pass it when the step needs it first); ``evaluate`` scores ``model(x)`` on
    a split. ``float32`` trains in float32 on contiguous tensors on CUDA too (no autocast, loss scaling or
    channels-last), as the differentiable search's reference code does."""

    def __init__(self, model: nn.Module, step: TrainStep[B], data: DatasetSplits | DeviceData,
                 protocol: TrainProtocol, device: torch.device, schedule: Schedule | None = None, *,
                 batches: BatchSource[B] | None = None, optimizer: torch.optim.Optimizer | None = None,
                 float32: bool = False) -> None:
        self.data = data if isinstance(data, DeviceData) else DeviceData(data, device)
        if len(self.data.parts["train"]) < 2:
            raise ConfigError(f"dataset {self.data.name!r} has {len(self.data.parts['train'])} training images; "
                              "need at least 2")
        self.model, self.step, self.protocol, self.device = model, step, protocol, device
        self.schedule = schedule if schedule is not None else Schedule(protocol)
        self.mixed = device.type == "cuda" and not float32
        self.memory_format = torch.contiguous_format if float32 else memory_format_for(device)
        self.amp_dtype = (torch.bfloat16 if not self.mixed or torch.cuda.is_bf16_supported() else torch.float16)
        # Module.to takes memory_format (documented) but torch's type stubs do not list it
        self.model.to(device=device, memory_format=self.memory_format)  # type: ignore[call-overload]
        # the default yields ``Batch``es, the batches of the steps that take no source (``ModelStep``, ``PathStep``)
        self.batches = batches if batches is not None else cast(
            BatchSource[B], ShuffledBatches(self.data, protocol, self.memory_format))
        self.optimizer = (optimizer if optimizer is not None
                          else make_optimizer(param_groups(model, protocol), protocol))
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.mixed and self.amp_dtype == torch.float16)
        self.criterion = nn.CrossEntropyLoss(label_smoothing=protocol.label_smoothing)

    def autocast(self) -> torch.autocast:
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype, enabled=self.mixed)

    def _set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def train_epoch(self, epoch: int, seed: int) -> EpochStats:
        """One pass over the epoch's batches."""
        torch_seed, data_seed = epoch_seeds(seed, epoch)
        torch.manual_seed(torch_seed)
        generator = torch.Generator(device=self.device).manual_seed(data_seed)
        rng = np.random.default_rng([seed, epoch])
        if hasattr(self.model, "drop_path_prob"):
            setattr(self.model, "drop_path_prob", self.protocol.drop_path_at(epoch))  # noqa: B010 (a float)
        self.model.train()
        ctx = StepContext(self)
        start_lr = self.schedule.learning_rate(epoch)
        self._set_lr(start_lr)
        self.step.begin_epoch(epoch, start_lr)
        steps, clip = self.batches.steps(), self.protocol.grad_clip
        for step, batch in enumerate(self.batches.epoch(epoch, generator, rng)):
            lr = self.schedule.step_rate(epoch, step, steps)
            if lr is not None:
                self._set_lr(lr)
            self.optimizer.zero_grad(set_to_none=True)
            self.step.train_step(batch, rng, ctx)
            if clip is not None:
                self.scaler.unscale_(self.optimizer)
                self.step.clip_gradients(self.model, clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.step.after_update(batch, rng, ctx)
        seen = max(ctx.seen, 1)
        stats = self.step.end_epoch(epoch, EpochStats(start_lr, float(ctx.loss_sum) / seen,
                                                      100.0 * float(ctx.correct) / seen))
        if not math.isfinite(stats.loss):
            raise TrainingError(
                f"training loss became {stats.loss} in epoch {epoch + 1} (learning rate {start_lr:.3g}); the run "
                "stopped. Lower the learning rate or check the data and the architecture."
            )
        return stats

    @torch.no_grad()
    def evaluate(self, name: str) -> tuple[float, float]:
        """(mean loss, accuracy %) of ``model(x)`` on split ``name``; NaN for an empty split."""
        part = self.data.parts[name]
        if len(part) == 0:
            return math.nan, math.nan
        self.model.eval()
        loss_sum, correct = torch.zeros((), device=self.device), torch.zeros((), device=self.device)
        size = self.protocol.eval_batch_size
        for start in range(0, len(part), size):
            x = normalize(part.x[start:start + size], self.data.mean, self.data.std).contiguous(
                memory_format=self.memory_format)
            y = part.y[start:start + size]
            with self.autocast():
                logits = self.model(x)
            loss_sum += nn.functional.cross_entropy(logits.float(), y, reduction="sum")
            correct += (logits.argmax(1) == y).sum()
        return float(loss_sum) / len(part), 100.0 * float(correct) / len(part)

    def run_epoch(self, epoch: int, seed: int, evaluate: Sequence[str] = ("val",)) -> EpochRecord:
        """Train ``epoch`` and score the splits in ``evaluate`` with the step's ``evaluate`` (validation NaN
        and test ``None`` when not scored); ``seconds`` counts training and validation."""
        started = time.perf_counter()
        stats = self.train_epoch(epoch, seed)
        noise_seed = epoch_seeds(seed, epoch)[1]
        val_loss, val_acc = self.step.evaluate(self, "val", noise_seed) if "val" in evaluate else (math.nan, math.nan)
        seconds = time.perf_counter() - started
        test_loss, test_acc = self.step.evaluate(self, "test", noise_seed) if "test" in evaluate else (None, None)
        return EpochRecord(epoch + 1, stats.lr, stats.loss, stats.acc, val_loss, val_acc, seconds, test_loss,
                           test_acc)

    def run(self, *, seed: int, run_key: dict[str, Any], checkpoint_dir: Path | None = None,
            evaluate: Sequence[str] = ("val",), progress: bool = True, description: str = "train",
            on_epoch_end: Callable[[EpochRecord], None] | None = None) -> tuple[list[EpochRecord], float]:
        """Train all the protocol's epochs, resuming from ``checkpoint_dir`` (which must hold a checkpoint of
        ``run_key`` if any); returns the per-epoch records and the wall time (s, over all sessions).

        After each epoch the splits in ``evaluate`` ("val", "test") are scored (``run_epoch``), ``on_epoch_end``
        is called (what it writes, e.g. a snapshot or a ranking, is on disk before the epoch counts as done) and
        the checkpoint (weights, optimiser, loss scaler, the step's ``state_dict``, the records) written.
        """
        unknown = sorted(set(evaluate) - {"val", "test"})
        if unknown:
            raise ConfigError(f"the loop evaluates the 'val' and 'test' splits, not {unknown}")
        folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
        history: list[EpochRecord] = []
        elapsed = 0.0
        state = load_checkpoint(folder, run_key) if folder is not None else None
        if state is not None and folder is not None:
            with restoring(folder / CHECKPOINT_NAME):  # a tampered file: one line naming it
                self.model.load_state_dict(state["model"])
                self.optimizer.load_state_dict(state["optimizer"])
                self.scaler.load_state_dict(state["scaler"])
                self.step.load_state_dict(state["step"])
                history = [EpochRecord(**record) for record in state["history"]]
                elapsed = float(state["elapsed"])
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
        with Progress(*columns, console=stderr_console(), disable=not progress, transient=True) as bar:
            task = bar.add_task(description, total=self.protocol.epochs, completed=len(history), status="")
            for epoch in range(len(history), self.protocol.epochs):
                started = time.perf_counter()
                record = self.run_epoch(epoch, seed, evaluate)
                elapsed += time.perf_counter() - started
                history.append(record)
                if on_epoch_end is not None:  # before the checkpoint: a run killed in between redoes the epoch
                    on_epoch_end(record)
                if folder is not None:
                    save_checkpoint(folder, {"run": run_key, "model": self.model.state_dict(),
                                             "optimizer": self.optimizer.state_dict(),
                                             "scaler": self.scaler.state_dict(), "step": self.step.state_dict(),
                                             "history": [asdict(r) for r in history], "elapsed": elapsed})
                status = f"loss {record.train_loss:.3f} train {record.train_acc:.1f}%"
                bar.update(task, advance=1,
                           status=status + (f" val {record.val_acc:.1f}%" if "val" in evaluate else ""))
        return history, elapsed


def _run_key(model: nn.Module, splits: DatasetSplits, protocol: TrainProtocol, seed: int, threads: int,
             test_each_epoch: bool, warmup_epochs: int) -> dict[str, Any]:
    return {"seed": seed, "protocol": repr(protocol), "dataset": splits.name,
            "sizes": [len(splits.train), len(splits.val), len(splits.test)],
            "model": type(model).__name__, "params": count_parameters(model, include_auxiliary=True),
            "threads": threads, "test_each_epoch": test_each_epoch, "warmup_epochs": warmup_epochs}


def train(model: nn.Module, splits: DatasetSplits, protocol: str | TrainProtocol, *, seed: int,
          checkpoint_dir: Path | None = None, device: str | None = None, progress: bool = True,
          on_epoch_end: Callable[[EpochRecord], None] | None = None, threads: int = 1,
          test_each_epoch: bool = False, warmup_epochs: int = 0) -> TrainResult:
    """Train ``model`` on ``splits`` under ``protocol`` (the papers' tables, see ``PROTOCOLS``).

    Records per-epoch train/validation loss and accuracy, checkpoints after every epoch into
    ``checkpoint_dir`` and resumes from it, stops with ``TrainingError`` on a NaN/inf loss, and
    evaluates the test split at the end; ``test_each_epoch`` also scores it after every epoch (the
    convergence curves of the architectures paper, Sec. 4.1, Fig. 4). ``on_epoch_end`` is called before
    each epoch's checkpoint. The run uses ``threads`` torch threads whatever the caller's setting, so
    the same seed gives the same numbers in any process. ``warmup_epochs`` prepends a linear LR warm-up.
    """
    proto = get_protocol(protocol)
    torch_device = resolve_device(device)
    run_key = _run_key(model, splits, proto, seed, threads, test_each_epoch, warmup_epochs)
    evaluate = ("val", "test") if test_each_epoch else ("val",)
    with isolated_run(torch_device, threads):
        loop = TrainLoop(model, ModelStep(model, proto.aux_weight), splits, proto, torch_device,
                         Schedule(proto, warmup_epochs))
        history, elapsed = loop.run(seed=seed, run_key=run_key, checkpoint_dir=checkpoint_dir, evaluate=evaluate,
                                    progress=progress, description=f"train {proto.name}", on_epoch_end=on_epoch_end)
        last = history[-1]
        if last.test_loss is not None and last.test_acc is not None:
            test_loss, test_acc = last.test_loss, last.test_acc
        else:
            started = time.perf_counter()
            test_loss, test_acc = loop.evaluate("test")
            elapsed += time.perf_counter() - started
    return TrainResult(
        protocol=proto.name, dataset=splits.name, seed=seed, history=tuple(history),
        final_val_acc=last.val_acc, test_loss=test_loss, test_acc=test_acc,
        params=count_parameters(model),
        flops=count_flops(model, (splits.in_channels, splits.image_size, splits.image_size)),
        wall_time_s=elapsed, device=str(torch_device),
    )
