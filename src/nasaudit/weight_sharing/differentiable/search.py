"""Bilevel differentiable search on a mixed-op supernet (DARTS, Liu et al., 2019, Sec. 2.3, Alg. 1) and
the variants the selection paper builds on (Sec. 5, App. A.1):

* ``darts``: alternate a first-order alpha step on a validation batch and an SGD weight step on a
  training batch, alpha first (quark0/darts@8876e793763398e3ee62ac1823fa0a3c14e8c2c5, cnn/train_search.py);
  ``darts2``: the second-order (unrolled) alpha step (``architect``);
* ``sdarts_rs`` (Chen & Hsieh, 2020; xiangning-chen/SmoothDARTS@d3dbfed06643d5fd4056edd90891ec9109634ada,
  sota/cnn/train_search.py): DARTS whose weight steps run on randomly smoothed weights, the softmax of
  alpha perturbed by U(-epsilon, epsilon), clamped to [0, 1] and renormalised
  (``ArchParameters.randomly_smoothed_weights``), epsilon ramped per epoch (``SearchConfig.sdarts_epsilon_at``);
* ``sgas`` (Li et al., 2020, criterion 1): after a warm-up, every few epochs the undecided edge with the
  best normalised importance x selection certainty is fixed to its strongest op (DARTS: a node with two
  decided inputs drops its other inputs);
* ``gdas`` (Dong & Yang, 2019; D-X-Y/AutoDL-Projects@f46486e21b71ae6459a700be720d7648b5429569,
  exps/NAS-Bench-201-algos/GDAS.py ``search_func``): one path per step from hard Gumbel-softmax samples,
  temperature annealed per epoch; the weight step comes first, then the alpha step, each on its own sample;
* ``drnas`` (Chen et al., 2021, Sec. 2.2; xiangning-chen/DrNAS@f2caa4dbdd96c1be29b56cb7ed47a74a184e6ef0,
  201-space/train_search.py with ``--method dirichlet``): DARTS whose weight and alpha steps each run on their
  own reparameterised Dirichlet draw of the mixing weights, concentration ``elu(alpha) + 1``
  (``ArchParameters.dirichlet_sample``), the alpha loss with the KL regulariser when ``drnas_reg="kl"``
  (``ArchParameters.dirichlet_kl``); the epoch's validation score on the Dirichlet mean;
* ``pcdarts`` (Xu et al., 2020, Sec. 3.2-3.3; yuhuixu1993/PC-DARTS@225925a390c26616331d5b83fddc9c34ffbb9887,
  model_search.py, train_search.py): DARTS's steps on the partially connected supernet (``partial``: 1/k of each
  edge's channels through the candidates, the rest bypassed, channel shuffle) with edge normalisation, beta trained
  beside alpha by the same Adam (``ArchParameters.edge_weights``);
* ``fixed_alpha`` (selection paper Sec. 6.3): alpha = 0 (uniform), frozen; only the weights train.

A search is a ``SearchStep`` on its ``SearchBatches`` run by the one training loop (``nasaudit.train.loop``),
in float32 also on CUDA. Epoch ``e`` draws all its randomness (batch orders, augmentation, perturbations,
Gumbel noise, Dirichlet draws) from ``epoch_seeds(seed, e)``, so resuming from the checkpoint written after any
epoch gives bit-identical results. A ``Snapshot`` (weights, alpha, decisions, epoch) can be saved and selected
from later.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from nasaudit._atomic import atomic_open
from nasaudit.data.splits import DatasetSplits, Split
from nasaudit.errors import ConfigError, DataError, TrainingError
from nasaudit.train.batches import BatchSource, DeviceData, batch_bounds
from nasaudit.train.checkpoint import read_state, restoring
from nasaudit.train.loop import EpochStats, StepContext, TrainLoop, TrainStep, param_groups, resolve_device
from nasaudit.train.protocols import TrainProtocol
from nasaudit.train.result import EpochRecord
from nasaudit.weight_sharing.differentiable.alpha import ArchParameters, Projection
from nasaudit.weight_sharing.differentiable.architect import Architect
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.supernet.modules import Supernet

SNAPSHOT_NAME = "snapshot.pt"


@dataclass(frozen=True)
class SearchEpoch:
    """One search epoch: LR at its start, GDAS temperature (NaN otherwise), mean training loss and
    accuracy (%) of the weight steps, mean validation loss of the alpha steps (NaN without), the supernet's
    validation loss and accuracy at the epoch's end, and alpha after it (per kind, per edge)."""

    epoch: int
    lr: float
    tau: float
    train_loss: float
    train_acc: float
    arch_loss: float
    val_loss: float
    val_acc: float
    seconds: float
    alpha: dict[str, tuple[tuple[float, ...], ...]] = field(repr=False)


@contextmanager
def batch_statistics(model: nn.Module) -> Iterator[None]:
    """Batch norm on batch statistics without touching its running statistics (training mode with
    ``track_running_stats`` off), as DARTS-PT evaluates a perturbed supernet."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    tracked = [m.track_running_stats for m in norms]
    was_training = model.training
    model.train()
    for m in norms:
        m.track_running_stats = False
    try:
        yield
    finally:
        for m, flag in zip(norms, tracked, strict=True):
            m.track_running_stats = flag
        model.train(was_training)


@torch.no_grad()
def evaluate(model: nn.Module, forward_arg: Any, batches: Sequence[tuple[torch.Tensor, torch.Tensor]], *,
             batch_stats: bool = False, noise_seed: int = 0) -> tuple[float, float]:
    """(mean loss, accuracy %) of ``model(x, forward_arg)`` over ``batches``; eval mode, or batch-norm batch
    statistics (``batch_statistics``). The global torch RNG is seeded with ``noise_seed`` first (the S4
    ``noise`` op), so repeated evaluations see the same noise."""
    torch.manual_seed(noise_seed)
    loss_sum, correct, seen = 0.0, 0, 0
    context = batch_statistics(model) if batch_stats else _eval_mode(model)
    with context:
        for x, y in batches:
            logits = model(x, forward_arg)
            loss_sum += float(nn.functional.cross_entropy(logits.float(), y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
            seen += len(y)
    if seen == 0:
        return math.nan, math.nan
    return loss_sum / seen, 100.0 * correct / seen


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


@dataclass(frozen=True)
class SearchBatch:
    """One search step's data: a training batch ``(x, y)`` for the weight step and, with alpha steps, a
    validation batch ``(arch_x, arch_y)`` for the alpha step."""

    x: torch.Tensor
    y: torch.Tensor
    arch_x: torch.Tensor | None
    arch_y: torch.Tensor | None


class SearchBatches(BatchSource[SearchBatch]):
    """The search's batches (quark0/darts cnn/train_search.py): the training split in a random order in batches
    of the protocol's size (``batch_bounds``: a last single image joins the batch before), each paired, when
    ``alpha_steps``, with the next batch of the validation split in its own random order (cycled); both augmented,
    the training batch first."""

    def __init__(self, data: DeviceData, protocol: TrainProtocol, alpha_steps: bool) -> None:
        self.data, self.protocol, self.alpha_steps = data, protocol, alpha_steps

    def steps(self) -> int:
        return len(batch_bounds(len(self.data.parts["train"]), self.protocol.batch_size))

    def epoch(self, epoch: int, generator: torch.Generator, rng: np.random.Generator) -> Iterator[SearchBatch]:
        train, val, size = self.data.parts["train"], self.data.parts["val"], self.protocol.batch_size
        order = torch.randperm(len(train), generator=generator, device=self.data.device)
        val_order = torch.randperm(len(val), generator=generator, device=self.data.device)
        val_bounds = batch_bounds(len(val), size)
        for step, (a, b) in enumerate(batch_bounds(len(train), size)):
            x, y = self._augmented(train, order[a:b], generator)
            if not self.alpha_steps:
                yield SearchBatch(x, y, None, None)
                continue
            va, vb = val_bounds[step % len(val_bounds)]
            yield SearchBatch(x, y, *self._augmented(val, val_order[va:vb], generator))

    def _augmented(self, part: Split, idx: torch.Tensor, generator: torch.Generator
                   ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.protocol.augmentation.apply(part.x[idx], self.data.mean, self.data.std, generator), part.y[idx]


class SearchStep(TrainStep[SearchBatch]):
    """One step of ``config``'s search (module doc) on ``supernet`` and ``alphas``: the alpha step (``Architect``
    over the weights' ``optimizer``) on the validation batch, then the weight step on the training batch
    (GDAS: the other way round, the alpha step in ``after_update``), under the decisions in ``projection``.

    Per epoch: the GDAS temperature or the SDARTS-RS epsilon at its start, the divergence check and the SGAS
    decision at its end, and the validation score with the search's forward argument. The step counts its own
    training loss and accuracy (Python floats, as the reference code does) and keeps what the loop's
    ``EpochRecord`` lacks in ``extras``: per epoch the temperature, the mean alpha-step loss and alpha.
    """

    def __init__(self, config: SearchConfig, supernet: Supernet, alphas: ArchParameters,
                 optimizer: torch.optim.SGD, projection: Projection, data: DeviceData) -> None:
        self.config, self.supernet, self.alphas, self.projection, self.data = (
            config, supernet, alphas, projection, data)
        self.architect = None if config.algorithm == "fixed_alpha" else Architect(
            list(alphas.parameters()), optimizer, lr=config.arch_lr,
            betas=(config.arch_betas[0], config.arch_betas[1]), weight_decay=config.alpha_weight_decay(),
            second_order=config.algorithm == "darts2")
        self.weights_first = config.algorithm == "gdas"  # AutoDL's GDAS order; DARTS and SDARTS step alpha first
        self.lr = self.tau = self.epsilon = math.nan
        self.extras: list[dict[str, Any]] = []
        self._eval_batches: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self._loss_sum, self._correct, self._seen, self._arch_sum, self._arch_steps = 0.0, 0, 0, 0.0, 0

    # -- forward arguments of the three uses
    def weight_arg(self) -> Any:
        with torch.no_grad():
            if self.config.algorithm == "gdas":
                hard, index = self.alphas.gumbel(self.tau)
                return self.alphas.forward_arg(hard, index)
            if self.config.algorithm == "sdarts_rs":
                weights = self.alphas.randomly_smoothed_weights(self.epsilon)
            elif self.config.algorithm == "drnas":
                weights = self.alphas.dirichlet_sample()
            else:
                weights = self.alphas.weights()
            return self.alphas.forward_arg(self.projection.project(weights), self.projection.single_paths())

    def arch_arg(self) -> Any:
        if self.config.algorithm == "gdas":
            hard, index = self.alphas.gumbel(self.tau)
            return self.alphas.forward_arg(hard, index)
        weights = self.alphas.dirichlet_sample() if self.config.algorithm == "drnas" else self.alphas.weights()
        return self.alphas.forward_arg(self.projection.project(weights), self.projection.single_paths())

    def eval_arg(self) -> Any:
        with torch.no_grad():
            if self.config.algorithm == "gdas":
                hard, index = self.alphas.argmax_one_hot()
                return self.alphas.forward_arg(hard, index)
            weights = self.alphas.dirichlet_mean() if self.config.algorithm == "drnas" else self.alphas.weights()
            return self.alphas.forward_arg(self.projection.project(weights), self.projection.single_paths())

    def begin_epoch(self, epoch: int, lr: float) -> None:
        c = self.config
        self.lr = lr
        if c.algorithm == "gdas":
            self.tau = c.gdas_tau_at(epoch)
        if c.algorithm == "sdarts_rs":
            self.epsilon = c.sdarts_epsilon_at(epoch)
        self._loss_sum, self._correct, self._seen, self._arch_sum, self._arch_steps = 0.0, 0, 0, 0.0, 0

    def train_step(self, batch: SearchBatch, rng: np.random.Generator, ctx: StepContext) -> None:
        if not self.weights_first:
            self._alpha_step(batch, ctx.criterion)
        logits = self.supernet(batch.x, self.weight_arg())
        loss = ctx.criterion(logits, batch.y)
        ctx.backward(loss)
        self._loss_sum += float(loss.detach()) * len(batch.y)
        self._correct += int((logits.detach().argmax(1) == batch.y).sum())
        self._seen += len(batch.y)

    def after_update(self, batch: SearchBatch, rng: np.random.Generator, ctx: StepContext) -> None:
        if self.weights_first:
            self._alpha_step(batch, ctx.criterion)

    def _alpha_step(self, batch: SearchBatch, criterion: nn.Module) -> None:
        if self.architect is None or batch.arch_x is None or batch.arch_y is None:
            return
        arch_x, arch_y = batch.arch_x, batch.arch_y
        kl_scale = self.config.drnas_kl_scale()

        def val_loss() -> torch.Tensor:  # of alpha (and the weights' current values)
            loss = criterion(self.supernet(arch_x, self.arch_arg()), arch_y)
            return loss + kl_scale * self.alphas.dirichlet_kl() if kl_scale else loss

        def train_loss() -> torch.Tensor:
            return criterion(self.supernet(batch.x, self.arch_arg()), batch.y)

        self._arch_sum += self.architect.step(val_loss, train_loss, self.lr)
        self._arch_steps += 1

    def end_epoch(self, epoch: int, stats: EpochStats) -> EpochStats:
        c = self.config
        mean_loss = self._loss_sum / max(self._seen, 1)
        if not math.isfinite(mean_loss) or not all(torch.isfinite(a).all() for a in self.alphas.parameters()):
            raise TrainingError(f"the {c.algorithm} search diverged in epoch {epoch + 1} (training loss {mean_loss}, "
                                f"LR {stats.lr:.3g}); lower the learning rates")
        if c.algorithm == "sgas" and epoch >= c.sgas_warmup and (epoch - c.sgas_warmup) % c.sgas_interval == 0:
            sgas_decide(self.alphas, self.projection)
        self.extras.append({"tau": self.tau, "alpha": self.alphas.snapshot(),
                            "arch_loss": self._arch_sum / self._arch_steps if self._arch_steps else math.nan})
        return EpochStats(stats.lr, mean_loss, 100.0 * self._correct / max(self._seen, 1))

    def evaluate(self, loop: TrainLoop[SearchBatch], name: str, noise_seed: int) -> tuple[float, float]:
        """The supernet's (mean loss, accuracy %) on split ``name`` with the search's forward argument."""
        if name not in self._eval_batches:
            self._eval_batches[name] = self.data.fixed_batches(name, self.config.batch_size)
        return evaluate(self.supernet, self.eval_arg(), self._eval_batches[name], noise_seed=noise_seed)

    def state_dict(self) -> dict[str, Any]:
        return {"alpha": self.alphas.state_dict(), "projection": self.projection.state(), "extras": self.extras,
                "arch_optimizer": None if self.architect is None else self.architect.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.alphas.load_state_dict(state["alpha"])
        if self.architect is not None:
            self.architect.optimizer.load_state_dict(state["arch_optimizer"])
        self.projection = Projection.from_state(state["projection"])
        self.extras = list(state["extras"])

    def history(self, records: Sequence[EpochRecord]) -> tuple[SearchEpoch, ...]:
        """The search's per-epoch records: the loop's ``records`` with this step's ``extras``."""
        return tuple(SearchEpoch(r.epoch, r.lr, e["tau"], r.train_loss, r.train_acc, e["arch_loss"], r.val_loss,
                                 r.val_acc, r.seconds, e["alpha"]) for r, e in zip(records, self.extras, strict=True))


def search_loop(config: SearchConfig, supernet: Supernet, alphas: ArchParameters, data: DeviceData,
                projection: Projection) -> tuple[TrainLoop[SearchBatch], SearchStep]:
    """``TrainLoop`` running ``config``'s search on ``supernet`` and ``alphas`` (on ``data``'s device) under
    ``projection``: SGD weight steps (DARTS: momentum, per-epoch cosine LR, weight decay, gradient clipping) in
    float32, with the step that runs them."""
    protocol = config.weight_protocol()
    # SGD, whose step the second-order architect unrolls
    optimizer = torch.optim.SGD(param_groups(supernet, protocol), lr=config.lr, momentum=config.momentum,
                                nesterov=protocol.nesterov)
    step = SearchStep(config, supernet, alphas, optimizer, projection, data)
    loop = TrainLoop(supernet, step, data, protocol, data.device, batches=SearchBatches(
        data, protocol, alpha_steps=step.architect is not None), optimizer=optimizer, float32=True)
    return loop, step


def _normalise(v: torch.Tensor) -> torch.Tensor:
    span = v.max() - v.min()
    return (v - v.min()) / span if span > 0 else torch.zeros_like(v)


def node_of_edge(alphas: ArchParameters, edge: int) -> int:
    """The destination node of edge ``edge`` (NB201 and DARTS numbering)."""
    return alphas.edge_ends[edge][1]


def close_full_nodes(alphas: ArchParameters, projection: Projection, kind: str) -> None:
    """DARTS: a node with two decided inputs drops its other (undecided) inputs (SGAS ``check_edges``)."""
    if alphas.family != "darts":
        return
    for node in {dst for _, dst in alphas.edge_ends}:
        edges = [k for k, (_, dst) in enumerate(alphas.edge_ends) if dst == node]
        decided = [k for k in edges if projection.chosen[kind][k] >= 0 and not projection.pruned[kind][k]]
        if len(decided) >= 2:
            for k in edges:
                if k not in decided:
                    projection.pruned[kind][k] = True


def sgas_decide(alphas: ArchParameters, projection: Projection) -> None:
    """One SGAS decision per cell kind (Li et al., 2020, criterion 1): edge importance (weight of the
    non-``none`` ops) and selection certainty (1 - normalised entropy of their distribution), each
    min-max normalised over the kind's edges; the best undecided edge gets its strongest op."""
    weights = alphas.weights()
    for kind in alphas.kinds:
        open_edges = [k for k in range(alphas.n_edges(kind))
                      if projection.chosen[kind][k] < 0 and not projection.pruned[kind][k]]
        if not open_edges:
            continue
        importance, certainty, best = [], [], []
        for k, ops in enumerate(alphas.candidates[kind]):
            real = [i for i, op in enumerate(ops) if op != "none"]
            w = weights[kind][k, real].detach()
            total = w.sum()
            p = w / total
            entropy = -(p * p.clamp_min(1e-30).log()).sum()
            importance.append(total)
            certainty.append(1.0 - entropy / math.log(len(real)) if len(real) > 1 else torch.ones(()))
            best.append(real[int(p.argmax())])
        score = _normalise(torch.stack(importance)) * _normalise(torch.stack(certainty))
        mask = torch.full_like(score, float("-inf"))
        mask[open_edges] = 0.0
        edge = int((score + mask).argmax())
        projection.chosen[kind][edge] = best[edge]
        close_full_nodes(alphas, projection, kind)


@dataclass
class Snapshot:
    """A searched state (weights, alpha, decisions, epoch) to select an architecture from, now or later."""

    config: SearchConfig
    seed: int
    epoch: int
    dataset: str
    supernet_state: dict[str, torch.Tensor]
    alpha_state: dict[str, torch.Tensor]
    projection: Projection

    @classmethod
    def of(cls, config: SearchConfig, seed: int, epoch: int, dataset: str, supernet: Supernet,
           alphas: ArchParameters, projection: Projection) -> Snapshot:
        """The state of a search after ``epoch`` epochs, copied to the CPU."""
        return cls(config, seed, epoch, dataset,
                   {k: v.detach().cpu().clone() for k, v in supernet.state_dict().items()},
                   {k: v.detach().cpu().clone() for k, v in alphas.state_dict().items()}, projection.copy())

    def save(self, path: str | Path) -> Path:
        """Write the snapshot to one file (``load_snapshot`` reads it back)."""
        out = Path(path)
        with atomic_open(out, "wb") as handle:
            torch.save({"config": self.config.to_dict(), "seed": self.seed, "epoch": self.epoch,
                        "dataset": self.dataset, "supernet": self.supernet_state, "alpha": self.alpha_state,
                        "projection": self.projection.state()}, handle)
        return out

    def restore(self, splits: DatasetSplits, device: str | torch.device | None = None
                ) -> tuple[Supernet, ArchParameters]:
        """The supernet and alpha of this snapshot, on ``device``, for ``splits`` (the search's dataset)."""
        if splits.name != self.dataset:
            raise DataError(f"this snapshot was searched on {self.dataset!r}, not {splits.name!r}")
        torch_device = resolve_device(device) if not isinstance(device, torch.device) else device
        supernet = self.config.build_supernet(splits)
        supernet.load_state_dict(self.supernet_state)
        alphas = ArchParameters(supernet, init_scale=0.0)
        alphas.load_state_dict(self.alpha_state)
        return supernet.to(torch_device), alphas.to(torch_device)


def load_snapshot(path: str | Path) -> Snapshot:
    """A snapshot written by ``Snapshot.save`` / ``SearchRun.save``."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"search snapshot not found: {source}")
    state = read_state(source, "search snapshot")
    with restoring(source, "search snapshot"):
        return Snapshot(SearchConfig.from_dict(state["config"]), int(state["seed"]), int(state["epoch"]),
                        str(state["dataset"]), state["supernet"], state["alpha"],
                        Projection.from_state(state["projection"]))


@dataclass
class SearchRun:
    """A finished search: the supernet, alpha and decisions, the data, the per-epoch records."""

    config: SearchConfig
    seed: int
    splits: DatasetSplits
    supernet: Supernet
    alphas: ArchParameters
    projection: Projection
    history: tuple[SearchEpoch, ...]
    device: str
    wall_time_s: float
    snapshot_paths: dict[int, Path] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        """The final searched state (copied to the CPU)."""
        return Snapshot.of(self.config, self.seed, len(self.history), self.splits.name, self.supernet, self.alphas,
                           self.projection)

    def save(self, path: str | Path) -> Path:
        return self.snapshot().save(path)

    def history_frame(self) -> pd.DataFrame:
        """One row per epoch (without alpha; ``alpha_frame`` has it)."""
        return pd.DataFrame([{k: v for k, v in asdict(r).items() if k != "alpha"} for r in self.history])

    def alpha_frame(self) -> pd.DataFrame:
        """alpha and its softmax weight of every (epoch, cell kind, edge, op): Fig. 3-style trajectories."""
        rows: list[dict[str, Any]] = []
        for record in self.history:
            for kind, per_edge in record.alpha.items():
                for k, values in enumerate(per_edge):
                    ops = self.alphas.candidates[kind][k]
                    soft = np.exp(np.asarray(values) - max(values))
                    soft /= soft.sum()
                    src, dst = self.alphas.ends[kind][k]
                    rows.extend({"epoch": record.epoch, "cell": kind, "edge": k, "src": src, "dst": dst, "op": op,
                                 "alpha": a, "weight": float(w)} for op, a, w in zip(ops, values, soft, strict=True))
        return pd.DataFrame(rows)


def search(config: SearchConfig, splits: DatasetSplits, *, seed: int, checkpoint_dir: str | Path | None = None,
           device: str | None = None, snapshot_epochs: Sequence[int] = ()) -> SearchRun:
    """Run ``config``'s search on ``splits`` (weights on ``train``, alpha on ``val``; module doc).

    ``checkpoint_dir`` gets a checkpoint after every epoch (a rerun resumes from it) and the final
    snapshot (``snapshot.pt``); ``snapshot_epochs`` also keeps snapshots after those epochs
    (``snapshot_<epoch>.pt``), e.g. for the selection paper's Fig. 4 trajectories.
    """
    if not isinstance(seed, int | np.integer):
        raise ConfigError(f"seed must be an int, got {seed!r}")
    if len(splits.train) < 2:
        raise ConfigError(f"dataset {splits.name!r} has {len(splits.train)} training images; need at least 2")
    if config.algorithm != "fixed_alpha" and len(splits.val) < 2:
        raise ConfigError(f"{config.algorithm} trains alpha on the validation split, and {splits.name!r} has "
                          f"{len(splits.val)} validation images; use a val_fraction > 0")
    if snapshot_epochs and checkpoint_dir is None:
        raise ConfigError("snapshot_epochs needs a checkpoint_dir to write the snapshots to")
    bad = sorted(e for e in snapshot_epochs if not 1 <= e <= config.epochs)
    if bad:
        raise ConfigError(f"snapshot_epochs must lie in 1..{config.epochs}, got {bad}")
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None
    torch_device = resolve_device(device)
    devices = [torch_device.index or 0] if torch_device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        supernet = config.build_supernet(splits).to(torch_device)
        init = 0.0 if config.algorithm == "fixed_alpha" else config.alpha_init
        alphas = ArchParameters(supernet, init_scale=init,
                                generator=torch.Generator().manual_seed(int(seed))).to(torch_device)
        alphas.requires_grad_(config.algorithm != "fixed_alpha")
        loop, step = search_loop(config, supernet, alphas, DeviceData(splits, torch_device), Projection.empty(alphas))
        run_key = {"seed": int(seed), "config": repr(config), "dataset": splits.name,
                   "sizes": [len(splits.train), len(splits.val), len(splits.test)]}
        if config.algorithm == "pcdarts":  # not in repr(config)
            run_key["pcdarts_k"] = config.pcdarts_k
        if config.max_vertices is not None:  # not in repr(config)
            run_key["max_vertices"] = config.max_vertices

        def keep_snapshot(record: EpochRecord) -> None:
            if folder is not None and record.epoch in snapshot_epochs:
                Snapshot.of(config, int(seed), record.epoch, splits.name, supernet, alphas, step.projection).save(
                    folder / f"snapshot_{record.epoch}.pt")

        records, elapsed = loop.run(seed=int(seed), run_key=run_key, checkpoint_dir=folder, progress=False,
                                    description=f"search {config.algorithm}", on_epoch_end=keep_snapshot)
        run = SearchRun(config, int(seed), splits, supernet, alphas, step.projection, step.history(records),
                        str(torch_device), elapsed)
        if folder is not None:
            run.snapshot_paths = {e: folder / f"snapshot_{e}.pt" for e in sorted(snapshot_epochs)}
            run.snapshot_paths[config.epochs] = run.save(folder / SNAPSHOT_NAME)
    return run
