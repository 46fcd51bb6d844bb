"""Single-path one-shot supernet training and its variants (single-path paper Sec. 3.3, 4.1-4.3, App. A).

The default reproduces App. A Table 1 (the ``singlepath`` protocol: SGD momentum 0.9, LR 0.025 cosine
to 5e-5, weight decay 3e-4 without BN, batch 256, 250 epochs, 4-pixel shift, flip, normalisation),
a small (S) NB201 supernet and strictly fair path sampling with the topology shared by all cells.
The variants are the paper's: op masks (Sec. 4.1), linear transformers (Sec. 4.2), per-cell
topologies, uniform sampling, 5-epoch LR warm-up, gradient clipping at norm 5, and regularisation
(Sec. 4.3), and the medium (M) size. Data, augmentation, protocols, device choice and checkpoints are
``nasaudit.data`` / ``nasaudit.train`` pieces, and training is the stand-alone networks' loop
(``nasaudit.train.loop.TrainLoop``, so also mixed precision and channels-last on CUDA) with a path-sampling
``PathStep``. Epoch ``e`` draws all its randomness from ``(seed, e)``, so the same seed gives the same
weights, also after resuming from a checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasaudit._atomic import atomic_open
from nasaudit.data.loading import load_dataset
from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError, DataError, SpaceError
from nasaudit.jobs.job import Options, absent_means, freeze_options, from_identity, identity
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.nb101 import NB101Space
from nasaudit.spaces.registry import get_space
from nasaudit.train.checkpoint import read_state, restoring
from nasaudit.train.loop import Batch, Schedule, StepContext, TrainLoop, TrainStep, isolated_run, resolve_device
from nasaudit.train.protocols import TrainProtocol, get_protocol
from nasaudit.train.result import EpochRecord
from nasaudit.weight_sharing.supernet.modules import LT_PLACES, SUPERNETS, Supernet, build_supernet
from nasaudit.weight_sharing.supernet.sampling import SAMPLINGS, PathSampler, StepSampler

#: supernet sizes (single-path paper Sec. 3.3: S = 2 cells per stage, 32 channels; M = 4 cells, 64
#: channels); DARTS: the DARTS search network (Liu et al., 2019, Sec. 3.1.1: 8 cells, 16 channels)
SIZES: dict[str, dict[str, dict[str, int]]] = {
    "nb201": {"S": {"channels": 32, "cells_per_stage": 2}, "M": {"channels": 64, "cells_per_stage": 4}},
    "darts": {"S": {"channels": 16, "layers": 8}},
    # NB101 (search-phase paper Sec. 3.2; not sized there): CPU-small S, and M with NB101's 3 cells per stack
    "nb101": {"S": {"stem_channels": 16, "cells_per_stack": 1}, "M": {"stem_channels": 32, "cells_per_stack": 3}},
}
_DEPTH_KEY = {"nb201": "cells_per_stage", "darts": "layers", "nb101": "cells_per_stack"}
_WIDTH_KEY = {"nb201": "channels", "darts": "channels", "nb101": "stem_channels"}
#: single-path paper Sec. 4.3: gradient clipping at L2 norm 5, warm-up over 5 epochs, label smoothing 0.1
PAPER_GRAD_CLIP = 5.0
PAPER_WARMUP_EPOCHS = 5
PAPER_LABEL_SMOOTHING = 0.1


@dataclass(frozen=True)
class SupernetConfig:
    """One supernet training setup (module doc). ``mask`` lists the ops removed from the space;
    ``channels``/``depth`` override the size's width and cells per stage (NB201) or cells (DARTS);
    ``epochs``/``batch_size``/``flip`` override the protocol. ``regularized`` adds the paper's label
    smoothing of 0.1 (its AutoAugment policies need torchvision and are not applied).
    ``max_vertices`` (NB101 only) reduces the cell to at most that many vertices (search-phase paper
    Sec. 3.2, reduced spaces); ``channels`` is then the stem width."""

    space: str = "nb201"
    mask: tuple[str, ...] = ()
    size: str = "S"
    channels: int | None = None
    depth: int | None = None
    sampling: str = "fair"
    share_topology: bool = True
    linear_transformers: tuple[str, ...] = ()
    warmup_epochs: int = 0
    grad_clip: float | None = None
    regularized: bool = False
    protocol: str = "singlepath"
    epochs: int | None = None
    batch_size: int | None = None
    flip: bool | None = None
    #: not in ``repr`` (so run keys of other configs are unchanged); left out of ``to_options`` when unset
    max_vertices: int | None = field(default=None, repr=False, metadata=absent_means(None))

    def __post_init__(self) -> None:
        object.__setattr__(self, "mask", tuple(sorted(self.mask)))
        object.__setattr__(self, "linear_transformers", tuple(sorted(self.linear_transformers)))
        family = self.family
        if self.size not in SIZES[family]:
            raise ConfigError(f"supernet size for {family} must be one of {sorted(SIZES[family])}, got {self.size!r}")
        if self.sampling not in SAMPLINGS:
            raise ConfigError(f"sampling must be one of {list(SAMPLINGS)}, got {self.sampling!r}")
        bad_lt = sorted(set(self.linear_transformers) - set(LT_PLACES))
        if bad_lt:
            raise ConfigError(f"linear transformers go on {list(LT_PLACES)}, not {bad_lt}")
        for name in ("channels", "depth", "epochs", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value}")
        if self.max_vertices is not None and family != "nb101":
            raise ConfigError(f"max_vertices applies to NB101 spaces only, not {self.space!r}")
        if self.warmup_epochs < 0 or (self.grad_clip is not None and self.grad_clip <= 0):
            raise ConfigError(f"warmup_epochs must be >= 0 and grad_clip > 0, got {self.warmup_epochs}, "
                              f"{self.grad_clip}")

    @property
    def family(self) -> str:
        """``"nb201"``, ``"darts"`` or ``"nb101"``: which supernet this config builds."""
        family = get_space(self.space).family
        if family in SUPERNETS:
            return family
        raise ConfigError(f"no supernet for space {self.space!r}; supernets exist for NB201, DARTS-like and "
                          "NB101 spaces")

    def make_space(self) -> SearchSpace:
        """The space with ``mask`` removed (single-path paper Sec. 4.1), reduced to ``max_vertices``."""
        space = get_space(self.space)
        if self.max_vertices is not None and isinstance(space, NB101Space):
            try:
                space = NB101Space(ops=space.ops, max_vertices=self.max_vertices, max_edges=space.max_edges,
                                   sampling=space.sampling, name=space.name)
            except SpaceError as err:
                raise ConfigError(str(err)) from None
        try:
            return space.without(self.mask)
        except SpaceError as err:
            raise ConfigError(str(err)) from None

    def macro(self) -> dict[str, int]:
        """Width and depth of the supernet: the size's, overridden by ``channels``/``depth``."""
        macro = dict(SIZES[self.family][self.size])
        if self.channels is not None:
            macro[_WIDTH_KEY[self.family]] = self.channels
        if self.depth is not None:
            macro[_DEPTH_KEY[self.family]] = self.depth
        return macro

    def build(self, splits: DatasetSplits) -> Supernet:
        """A freshly initialised single-path supernet of this config for ``splits``' images and classes."""
        macro: dict[str, Any] = self.macro()
        return build_supernet(self.make_space(), num_classes=splits.num_classes, in_channels=splits.in_channels,
                              linear_transformers=self.linear_transformers, **macro)

    def make_protocol(self) -> TrainProtocol:
        """The training protocol with this config's overrides (epochs, batch, clipping, smoothing, flip)."""
        base = get_protocol(self.protocol)
        changes: dict[str, Any] = {}
        if self.epochs is not None:
            changes["epochs"] = self.epochs
        if self.batch_size is not None:
            changes["batch_size"] = self.batch_size
        if self.grad_clip is not None:
            changes["grad_clip"] = self.grad_clip
        if self.regularized:
            changes["label_smoothing"] = PAPER_LABEL_SMOOTHING
        if self.flip is not None:
            changes["augmentation"] = replace(base.augmentation, flip=self.flip)
        return base.with_overrides(**changes) if changes else base

    def schedule(self, protocol: TrainProtocol) -> Schedule:
        """The loop's LR schedule: ``warmup_epochs`` of linear warm-up (Sec. 4.3), then ``protocol``'s
        cosine; per step during warm-up, each step's rate taken at its end."""
        return Schedule(protocol, self.warmup_epochs, at_step_end=True)

    def learning_rate(self, protocol: TrainProtocol, progress: float) -> float:
        """Linear warm-up to the initial LR over ``warmup_epochs`` (Sec. 4.3), then the protocol's cosine."""
        return self.schedule(protocol).learning_rate(progress)

    def to_options(self) -> Options:
        """The config as job options, e.g. for an ``ExperimentJob``: its identity (``nasaudit.jobs.job.identity``),
        lists as JSON lists."""
        return freeze_options(identity(self))

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> SupernetConfig:
        """Inverse of ``to_options``; unknown keys raise ``ConfigError``. A comma-joined ``mask`` or
        ``linear_transformers`` (checkpoints written before options held lists) is read as its list."""
        data = dict(options)
        for key in ("mask", "linear_transformers"):
            value = data.get(key, ())
            data[key] = tuple(v for v in value.split(",") if v) if isinstance(value, str) else tuple(value or ())
        return from_identity(cls, data, "supernet option")


@dataclass(frozen=True)
class SupernetEpoch:
    """One epoch of supernet training: LR at its start, mean loss and accuracy (%) over sampled paths."""

    epoch: int
    lr: float
    train_loss: float
    train_acc: float
    seconds: float


def _supernet_epoch(record: EpochRecord) -> SupernetEpoch:
    return SupernetEpoch(record.epoch, record.lr, record.train_loss, record.train_acc, record.seconds)


@dataclass
class SupernetRun:
    """A trained supernet with the data it saw and its training curve."""

    supernet: Supernet
    config: SupernetConfig
    splits: DatasetSplits
    seed: int
    history: tuple[SupernetEpoch, ...]
    device: str
    wall_time_s: float
    val_fraction: float = 0.1

    def save(self, path: str | Path) -> Path:
        """Write weights, config, seed, dataset and curve to one file (``load_run`` reads it back)."""
        out = Path(path)
        with atomic_open(out, "wb") as handle:
            torch.save({"model": self.supernet.state_dict(), "config": dict(self.config.to_options()),
                        "seed": self.seed, "dataset": self.splits.name, "val_fraction": self.val_fraction,
                        "history": [asdict(r) for r in self.history], "wall_time_s": self.wall_time_s}, handle)
        return out


def load_run(path: str | Path, *, data_root: str | Path | None = None, device: str | None = None) -> SupernetRun:
    """A supernet saved by ``SupernetRun.save``, with its dataset reloaded (same seeded validation split)."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"supernet file not found: {source}")
    state = read_state(source, "saved supernet")
    with restoring(source, "saved supernet"):  # a tampered file (keys, types, tensor sizes): one line naming it
        config = SupernetConfig.from_options(state["config"])
        splits = load_dataset(state["dataset"], data_root, val_fraction=state["val_fraction"], seed=state["seed"])
        supernet = config.build(splits)
        supernet.load_state_dict(state["model"])
        history = tuple(SupernetEpoch(**r) for r in state["history"])
        seed, wall_time_s, val_fraction = int(state["seed"]), float(state["wall_time_s"]), float(state["val_fraction"])
    torch_device = resolve_device(device)
    supernet.to(torch_device)
    return SupernetRun(supernet, config, splits, seed, history, str(torch_device), wall_time_s, val_fraction)


class PathStep(TrainStep):
    """A single-path supernet's step (single-path paper Sec. 3.3, 4.3): draw the step's paths from the
    epoch's generator with ``sampler``, then forward and backward each, accumulating the gradients of all
    of them (strict fairness: ``|O|`` paths) into one update."""

    def __init__(self, supernet: Supernet, sampler: StepSampler) -> None:
        self.supernet, self.sampler = supernet, sampler

    def train_step(self, batch: Batch, rng: np.random.Generator, ctx: StepContext) -> None:
        for path in self.sampler.step(rng):
            with ctx.autocast():
                logits = self.supernet(batch.x, path)
                loss = batch.loss(ctx.criterion, logits)
            ctx.backward(loss)
            ctx.record(loss, batch.correct(logits), batch.size)


def train_supernet(config: SupernetConfig, dataset: str | DatasetSplits = "embedded", *, seed: int,
                   data_root: str | Path | None = None, val_fraction: float = 0.1,
                   checkpoint_dir: Path | None = None, device: str | None = None, threads: int = 1,
                   progress: bool = False, on_epoch_end: Callable[[SupernetEpoch], None] | None = None,
                   sampler: Callable[[Supernet], StepSampler] | None = None) -> SupernetRun:
    """Train a single-path supernet under ``config`` (single-path paper Sec. 3.3, App. A Table 1).

    Weights are initialised from ``seed``, which also draws the validation split (``val_fraction``, the
    paper's 5,000 of 50,000 CIFAR-10 images) and every path and batch. ``checkpoint_dir`` gets a
    checkpoint after every epoch and a rerun resumes from it; ``on_epoch_end`` is called before each
    epoch's checkpoint. The run uses ``threads`` torch threads whatever the caller's setting (the
    numbers depend on it). Training is ``nasaudit.train.loop.TrainLoop`` with a ``PathStep``; ``sampler``
    replaces the config's path sampling by another policy built for the new supernet (ENAS's controller).
    """
    protocol = config.make_protocol()
    splits = dataset if isinstance(dataset, DatasetSplits) else load_dataset(
        dataset, data_root, val_fraction=val_fraction, seed=seed)
    torch_device = resolve_device(device)
    run_key: dict[str, Any] = {"seed": seed, "config": repr(config), "protocol": repr(protocol),
                               "dataset": splits.name, "sizes": [len(splits.train), len(splits.val), len(splits.test)],
                               "threads": threads}
    if config.max_vertices is not None:  # not in repr(config)
        run_key["max_vertices"] = config.max_vertices
    with isolated_run(torch_device, threads):
        torch.manual_seed(seed)
        supernet = config.build(splits)
        paths = (sampler(supernet) if sampler is not None
                 else PathSampler(supernet, config.sampling, config.share_topology))
        step = PathStep(supernet, paths)
        loop = TrainLoop(supernet, step, splits, protocol, torch_device, config.schedule(protocol))
        callback = None if on_epoch_end is None else (lambda record: on_epoch_end(_supernet_epoch(record)))
        history, elapsed = loop.run(seed=seed, run_key=run_key, checkpoint_dir=checkpoint_dir, evaluate=(),
                                    progress=progress, description="train supernet", on_epoch_end=callback)
    return SupernetRun(supernet, config, splits, seed, tuple(_supernet_epoch(r) for r in history), str(torch_device),
                       elapsed, val_fraction)
