"""One seed of a weight-sharing method: train its supernet, rank a fixed architecture set with the shared
weights as training goes on, derive the final architecture(s) (search-phase paper Sec. 3.1, 4.2, App. D.2).

* ``darts``/``gdas``: ``nasaudit.differentiable.search`` (first-order DARTS, GDAS), final cells by
  ``select`` (alpha; and PT for ``darts_pt``); an architecture's shared-weight score is the mixed
  supernet's validation accuracy with every edge fixed to its op, batch-norm on batch statistics (as PT
  measures it). Checkpoints after every epoch: a killed seed resumes.
* ``spos``: a single-path supernet (``train_supernet``), then regularised evolution with the
  supernet as evaluator. Checkpoints after every epoch; the ranking of each finished epoch is kept too.
* ``enas``: the same single-path supernet trained on the paths an LSTM controller samples, the controller
  trained by REINFORCE on the supernet's validation accuracy after each epoch (ENAS Sec. 2.2, alternating);
  the final cell is the best by the supernet of ``derive_samples`` controller samples (ENAS Sec. 2.3). The
  controller has no checkpoint, so a killed ENAS seed starts again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nasaudit._atomic import atomic_write
from nasaudit.data.loading import load_dataset
from nasaudit.data.splits import DatasetSplits
from nasaudit.differentiable.alpha import ArchParameters, Projection
from nasaudit.differentiable.config import SearchConfig
from nasaudit.differentiable.search import SNAPSHOT_NAME, DeviceData, evaluate, load_snapshot, search
from nasaudit.differentiable.selection import select
from nasaudit.errors import ConfigError
from nasaudit.search.controller import Controller, Decisions, Reinforce, Sample
from nasaudit.search.evolution import RegularizedEvolution
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsGenotype, DartsSpace
from nasaudit.spaces.nb201 import NB201Arch
from nasaudit.spaces.registry import get_space
from nasaudit.spaces.subset import SubsetSpace, classes_space
from nasaudit.supernet.evaluator import SupernetEvaluator
from nasaudit.supernet.modules import Supernet
from nasaudit.supernet.sampling import PathSampler
from nasaudit.supernet.training import SupernetConfig, SupernetEpoch, train_supernet
from nasaudit.train.loop import resolve_device
from nasaudit.weight_sharing.setup import WS_METHODS, WSSetup

_RANKING_FILE = "ranking.json"


@dataclass
class WSOutcome:
    """What one seed of a training produced: the final architecture of each method, and the shared-weight
    scores of the ranked architectures after each ranked epoch."""

    finals: dict[str, str]
    rank_epochs: list[int] = field(default_factory=list)
    rank_scores: list[list[float]] = field(default_factory=list)
    seconds: float = 0.0


def search_space(setup: WSSetup) -> SearchSpace:
    """The space searched: the registered space without ``mask`` (NB101: at most ``max_vertices`` vertices),
    reduced to ``within``'s classes if given."""
    base = spos_config(setup, get_space(setup.space)).make_space()
    within = setup.within_archs
    return classes_space(base, within) if within else base


def ranked_epochs(epochs: int, points: int = 10) -> list[int]:
    """At most ``points`` epochs, evenly spread and always including the last (App. D.2 rank changes)."""
    return sorted({round(float(e)) for e in np.linspace(1, epochs, min(points, epochs))})


def run_training(training: str, methods: Sequence[str], setup: WSSetup, seed: int,
                 work_dir: Path | None = None) -> WSOutcome:
    """Train one seed of ``training`` and derive the final cell of each of ``methods`` (module doc)."""
    for name in methods:
        if WS_METHODS.get(name).training != training:
            raise ConfigError(f"method {name!r} does not use the {training!r} training")
    space = search_space(setup)
    started = time.perf_counter()
    splits = load_dataset(setup.dataset, setup.data_root, val_fraction=setup.val_fraction, seed=seed)
    if training in ("darts", "gdas"):
        outcome = _differentiable(training, methods, setup, space, splits, seed, work_dir)
    elif training == "spos":
        outcome = _spos(setup, space, splits, seed, work_dir)
    elif training == "enas":
        outcome = _enas(setup, space, splits, seed)
    else:
        raise ConfigError(f"unknown weight-sharing training {training!r}")
    outcome.seconds = time.perf_counter() - started
    return outcome


# ----------------------------------------------------------------------------------------- DARTS and GDAS
def search_config(setup: WSSetup, algorithm: str) -> SearchConfig:
    """The differentiable search of a setup: its preset, space, mask and the supernet size every method shares
    (``WSSetup.sizes``)."""
    changes: dict[str, Any] = {"mask": setup.masked, "epochs": setup.epochs,
                               **setup.sizes(get_space(setup.space).family)}
    if setup.preset == "tiny":
        return SearchConfig.tiny(algorithm, setup.space, **changes)
    return replace(SearchConfig(algorithm=algorithm, space=setup.space), **changes)


def arch_projection(alphas: ArchParameters, arch: NB201Arch | DartsGenotype, space: SearchSpace) -> Projection:
    """The decisions that make the mixed supernet run exactly ``arch`` (every kept edge fixed to its op)."""
    projection = Projection.empty(alphas)
    if isinstance(arch, NB201Arch):
        projection.chosen["cell"] = [alphas.candidates["cell"][k].index(op) for k, op in enumerate(arch.ops)]
        return projection
    assert isinstance(space, DartsSpace)
    for kind in CELL_TYPES:
        projection.pruned[kind] = [True] * alphas.n_edges(kind)
        for src, dst, op in arch.cell(kind).triples():
            k = space.mixed_edge(dst - 2, src)
            projection.pruned[kind][k] = False
            projection.chosen[kind][k] = alphas.candidates[kind][k].index(op)
    return projection


def _val_batches(splits: DatasetSplits, device: torch.device, images: int, size: int
                 ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    batches = DeviceData(splits, device).fixed_batches("val", size)
    kept, seen = [], 0
    for x, y in batches:
        if seen >= images:
            break
        kept.append((x[:images - seen], y[:images - seen]))
        seen += len(kept[-1][1])
    return kept


def _differentiable(training: str, methods: Sequence[str], setup: WSSetup, space: SearchSpace,
                    splits: DatasetSplits, seed: int, work_dir: Path | None) -> WSOutcome:
    config = search_config(setup, training)
    epochs = ranked_epochs(config.epochs)
    folder = work_dir
    run = search(config, splits, seed=seed, checkpoint_dir=folder, device=setup.device,
                 snapshot_epochs=epochs[:-1] if folder is not None else ())
    within = space if isinstance(space, SubsetSpace) else None
    finals: dict[str, str] = {}
    for name in methods:
        method = "pt" if name == "darts_pt" else "alpha"
        chosen = select(run, method, seed=seed, tune_epochs=setup.tune_epochs, device=setup.device, within=within)
        finals[name] = space.format(chosen.arch)
    outcome = WSOutcome(finals)
    ranked: list[Any] = [space.parse(a) for a in setup.ranked]
    if not ranked:
        return outcome
    device = resolve_device(setup.device)
    batches = _val_batches(splits, device, setup.rank_images, config.batch_size)
    searched = config.make_space()
    sources: dict[int, Any] = {config.epochs: run}
    if folder is not None:
        sources.update({e: folder / f"snapshot_{e}.pt" for e in epochs[:-1]})
        sources[config.epochs] = folder / SNAPSHOT_NAME
    for epoch in epochs:
        source = sources.get(epoch)
        if source is None:
            continue
        if isinstance(source, Path):
            net, alphas = load_snapshot(source).restore(splits, device)
        else:
            net, alphas = run.supernet, run.alphas
        weights = {k: w.detach() for k, w in alphas.weights().items()}
        scores = []
        for arch in ranked:
            projection = arch_projection(alphas, arch, searched)
            arg = alphas.forward_arg(projection.project(weights), projection.single_paths())
            scores.append(evaluate(net, arg, batches, batch_stats=True, noise_seed=seed)[1])
        outcome.rank_epochs.append(epoch)
        outcome.rank_scores.append(scores)
    return outcome


# ----------------------------------------------------------------------------------------- SPOS and ENAS
def spos_config(setup: WSSetup, space: SearchSpace) -> SupernetConfig:
    """The single-path supernet of a setup, of the size every method shares (``WSSetup.sizes``: the width and
    depth override the supernet size's own)."""
    sizes: dict[str, Any] = setup.sizes(space.family)
    sampling = "fair" if space.family == "nb201" else "uniform"
    return SupernetConfig(space=setup.space, mask=setup.masked, sampling=sampling, epochs=setup.epochs,
                          max_vertices=setup.max_vertices, **sizes)


class _Tracker:
    """Holds the supernet a training builds, ranks the fixed set after each epoch and keeps the rankings in
    ``folder`` (so a resumed run still has the epochs it finished before)."""

    def __init__(self, setup: WSSetup, splits: DatasetSplits, epochs: list[int], folder: Path | None) -> None:
        self.setup, self.splits, self.epochs, self.folder = setup, splits, epochs, folder
        self.supernet: Supernet | None = None
        saved = folder / _RANKING_FILE if folder is not None else None
        self.rankings: dict[int, list[float]] = (
            {int(k): v for k, v in json.loads(saved.read_text()).items()} if saved is not None and saved.is_file()
            else {})

    def evaluator(self, images: int | None = None) -> SupernetEvaluator:
        assert self.supernet is not None
        return SupernetEvaluator(self.supernet, self.splits, max_images=images or self.setup.rank_images)

    def on_epoch_end(self, record: SupernetEpoch) -> None:
        if record.epoch in self.epochs and self.setup.ranked:
            self.rankings[record.epoch] = self.evaluator().evaluate(self.setup.ranked).tolist()
            if self.folder is not None:
                atomic_write(self.folder / _RANKING_FILE, json.dumps(self.rankings))

    def outcome(self, finals: dict[str, str]) -> WSOutcome:
        done = sorted(self.rankings)
        return WSOutcome(finals, done, [self.rankings[e] for e in done])


def _spos(setup: WSSetup, space: SearchSpace, splits: DatasetSplits, seed: int, work_dir: Path | None) -> WSOutcome:
    config = spos_config(setup, space)
    tracker = _Tracker(setup, splits, ranked_epochs(setup.epochs), work_dir)

    def sampler(supernet: Supernet) -> PathSampler:
        tracker.supernet = supernet
        return PathSampler(supernet, config.sampling, config.share_topology)

    train_supernet(config, splits, seed=seed, checkpoint_dir=work_dir, device=setup.device,
                   on_epoch_end=tracker.on_epoch_end, sampler=sampler)
    budget = min(setup.evolution_budget, space.size)
    found = RegularizedEvolution().run(space, tracker.evaluator(), budget, seed)
    return tracker.outcome({"spos_evolution": space.format(found.final_arch)})


class _ControllerPaths:
    """ENAS's weight step: one path per step, sampled by the controller (no gradient to the controller)."""

    def __init__(self, supernet: Supernet, controller: Controller) -> None:
        self.supernet, self.controller = supernet, controller

    def step(self, rng: np.random.Generator) -> np.ndarray:
        with torch.no_grad():
            sample = self.controller.sample(rng)
        return self.supernet.encode(sample.arch)[None]


def _enas(setup: WSSetup, space: SearchSpace, splits: DatasetSplits, seed: int) -> WSOutcome:
    config = spos_config(setup, space)
    controller = Controller(Decisions(space), seed=seed)
    learner = Reinforce(controller)
    tracker = _Tracker(setup, splits, ranked_epochs(setup.epochs), None)

    def sampler(supernet: Supernet) -> _ControllerPaths:
        tracker.supernet = supernet
        return _ControllerPaths(supernet, controller)

    def on_epoch_end(record: SupernetEpoch) -> None:
        rng = np.random.default_rng([seed, record.epoch, 1])
        evaluator = tracker.evaluator()
        for _ in range(setup.controller_steps):
            samples: list[Sample] = [controller.sample(rng) for _ in range(setup.controller_batch)]
            rewards = evaluator.evaluate([s.arch for s in samples])
            learner.update(samples, rewards.tolist())
        tracker.on_epoch_end(record)

    train_supernet(config, splits, seed=seed, device=setup.device, on_epoch_end=on_epoch_end, sampler=sampler)
    rng = np.random.default_rng([seed, setup.epochs, 2])
    with torch.no_grad():
        candidates = list(dict.fromkeys(controller.sample(rng).arch for _ in range(setup.derive_samples)))
    scores = tracker.evaluator().evaluate(candidates)
    return tracker.outcome({"enas": space.format(candidates[int(np.argmax(scores))])})
