"""Deriving a discrete architecture from a searched supernet (selection paper Sec. 3-4, App. A.3).

* ``alpha`` (magnitude; DARTS, Liu et al., 2019, Sec. 2.4; selection paper App. A.1.1): on every edge
  the candidate with the largest alpha (DARTS-like spaces: never ``none``), and per DARTS node the two
  inputs whose strongest non-``none`` op weighs most;
* ``pt`` (perturbation-based, selection paper Sec. 4, Alg. 1-2): edges in a seeded random order; on each,
  the supernet's validation accuracy with each candidate masked out; the edge keeps the op whose removal
  hurts most; the supernet is tuned for a few epochs between decisions. In DARTS-like spaces the
  topology follows the same way: per node (random order) the two inputs whose removal hurts most stay.
  One decision per cell kind per round (normal and reduce together), tuning after every round but the
  last, as DARTS-PT's code does; ``none`` is never evaluated nor selected in DARTS-like spaces (App.
  A.1.1); the perturbed supernet is evaluated with batch statistics, as DARTS-PT's code does.

Decisions already in the searched state (SGAS) are kept. Every selection returns the architecture of
the searched space and a per-edge table: alpha and its softmax weight of every op next to the supernet
accuracy without that op, for the selection paper's Fig. 1/7 question "does the largest alpha pick the
op that matters most" (``operation_strength`` measures it on every edge at once).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from nasaudit.data.splits import DatasetSplits
from nasaudit.differentiable.alpha import ArchParameters, Projection
from nasaudit.differentiable.config import PAPER_TUNE_EPOCHS, SearchConfig
from nasaudit.differentiable.search import (
    DeviceData,
    SearchRun,
    Snapshot,
    WeightTrainer,
    batch_bounds,
    evaluate,
    load_snapshot,
)
from nasaudit.errors import ConfigError, DataError
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsCell, DartsGenotype, DartsSpace
from nasaudit.spaces.nb201 import NB201Arch
from nasaudit.train.loop import epoch_seeds, resolve_device

#: selection method -> the space families it supports
SELECTION_METHODS: dict[str, tuple[str, ...]] = {"alpha": ("nb201", "darts"), "pt": ("nb201", "darts")}

Source = SearchRun | Snapshot | str | Path


@dataclass
class Selection:
    """A derived architecture with the evidence behind it (module doc).

    ``edges`` has one row per (phase, cell, edge, op) looked at: ``phase`` ("op" or "topology"),
    ``round``, ``cell``, ``edge``, ``src``, ``dst``, ``op``, ``alpha``, ``weight`` (softmax), ``acc_base``
    and ``acc_without`` (supernet validation accuracy % before and with the op / edge removed; NaN for
    ``alpha``), ``selected``. ``trajectory`` is the supernet's validation accuracy before the first and
    after every decision round (selection paper Fig. 6).
    """

    arch: NB201Arch | DartsGenotype
    method: str
    space: str
    seed: int
    search_epoch: int
    tune_epochs: int
    edges: pd.DataFrame
    trajectory: tuple[float, ...]
    seconds: float


class _Selector:
    """The searched state one selection works on (a private copy: tuning never changes the source)."""

    def __init__(self, source: Source, splits: DatasetSplits | None, device: str | None) -> None:
        snapshot = source.snapshot() if isinstance(source, SearchRun) else (
            source if isinstance(source, Snapshot) else load_snapshot(source))
        data_splits = source.splits if isinstance(source, SearchRun) and splits is None else splits
        self.config: SearchConfig = snapshot.config
        self.snapshot = snapshot
        self.splits = data_splits
        self.device = resolve_device(device)
        self.space = self.config.make_space()
        self.supernet: Any = None
        self.alphas: ArchParameters | None = None
        self.projection: Projection = snapshot.projection.copy()

    def load(self) -> ArchParameters:
        if self.splits is None:
            raise DataError("selecting from a snapshot needs the search's dataset splits (splits=...)")
        self.supernet, self.alphas = self.snapshot.restore(self.splits, self.device)
        return self.alphas

    def weights(self) -> dict[str, torch.Tensor]:
        assert self.alphas is not None
        with torch.no_grad():
            return {k: w.detach() for k, w in self.alphas.weights().items()}


def _selectable(alphas: ArchParameters, kind: str, edge: int) -> list[int]:
    ops = alphas.candidates[kind][edge]
    return [i for i, op in enumerate(ops) if alphas.family == "nb201" or op != "none"]


def _incoming(alphas: ArchParameters, node: int) -> list[int]:
    return [k for k, (_, dst) in enumerate(alphas.edge_ends) if dst == node]


def build_arch(alphas: ArchParameters, projection: Projection, space: Any) -> NB201Arch | DartsGenotype:
    """The architecture of a fully decided projection (every kept edge has an op; DARTS: two per node)."""
    if alphas.family == "nb201":
        arch: NB201Arch | DartsGenotype = NB201Arch(tuple(
            alphas.candidates["cell"][k][projection.chosen["cell"][k]] for k in range(alphas.n_edges("cell"))))
    else:
        assert isinstance(space, DartsSpace)
        cells = {}
        for kind in CELL_TYPES:
            edges: list[tuple[str, int]] = []
            for node in range(2, space.n_nodes + 2):
                kept = [k for k in _incoming(alphas, node) if not projection.pruned[kind][k]]
                for k in sorted(kept, key=lambda e: alphas.edge_ends[e][0]):
                    edges.append((alphas.candidates[kind][k][projection.chosen[kind][k]], alphas.edge_ends[k][0]))
            cells[kind] = DartsCell(tuple(edges), space.concat)
        arch = DartsGenotype(normal=cells["normal"], reduce=cells["reduce"])
    space.validate(arch)
    return arch


def _rows(alphas: ArchParameters, weights: dict[str, torch.Tensor], phase: str, round_: int, kind: str, edge: int,
          options: list[int], acc_base: float, acc_without: list[float], selected: set[int]) -> list[dict[str, Any]]:
    src, dst = alphas.edge_ends[edge]
    return [{"phase": phase, "round": round_, "cell": kind, "edge": edge, "src": src, "dst": dst,
             "op": alphas.candidates[kind][edge][i], "alpha": float(alphas.alpha[kind][edge, i].detach()),
             "weight": float(weights[kind][edge, i]), "acc_base": acc_base, "acc_without": acc,
             "selected": i in selected} for i, acc in zip(options, acc_without, strict=True)]


def _members_ops(alphas: ArchParameters, within: SearchSpace) -> np.ndarray:
    """The candidate index of every edge of every member of the reduced NB201 space ``within``."""
    if alphas.family != "nb201" or within.family != "nb201":
        raise ConfigError(f"selection within a reduced space is defined for NB201 cells, not {within.name!r}")
    index = [{op: i for i, op in enumerate(ops)} for ops in alphas.candidates["cell"]]
    try:
        return np.array([[index[k][op] for k, op in enumerate(m.ops)] for m in within.enumerate()], dtype=np.int64)
    except KeyError as err:
        raise ConfigError(f"the reduced space uses op {err} that the searched supernet lacks") from None


def _fitting(members: np.ndarray, proj: Projection) -> np.ndarray:
    """The members that agree with every edge decided so far."""
    chosen = np.asarray(proj.chosen["cell"])
    decided = chosen >= 0
    return members[(members[:, decided] == chosen[decided]).all(axis=1)]


def _consistent(members: np.ndarray, proj: Projection, edge: int) -> list[int]:
    """The candidates of ``edge`` that some member completes, given the edges decided so far."""
    return sorted({int(i) for i in _fitting(members, proj)[:, edge]})


def _alpha_select(sel: _Selector, within: SearchSpace | None = None
                  ) -> tuple[NB201Arch | DartsGenotype, list[dict[str, Any]]]:
    alphas = sel.load()
    weights, proj = sel.weights(), sel.projection
    if within is not None:  # the member with the largest joint weight: the argmax restricted to the reduced space
        members = _members_ops(alphas, within)
        fits = _fitting(members, proj)
        log_w = torch.log(proj.project(weights)["cell"].clamp_min(1e-30)).cpu().numpy()
        best = fits[int(np.argmax(log_w[np.arange(members.shape[1]), fits].sum(axis=1)))]
        proj.chosen["cell"] = [int(i) for i in best]
    rows: list[dict[str, Any]] = []
    strength: dict[tuple[str, int], float] = {}
    for kind in alphas.kinds:
        projected = proj.project(weights)[kind]
        for k in range(alphas.n_edges(kind)):
            options = _selectable(alphas, kind, k)
            if proj.chosen[kind][k] < 0:
                proj.chosen[kind][k] = options[int(projected[k, options].argmax())]
            strength[kind, k] = -math.inf if proj.pruned[kind][k] else float(projected[k, options].max())
            rows += _rows(alphas, weights, "op", 0, kind, k, options, math.nan, [math.nan] * len(options),
                          {proj.chosen[kind][k]})
    if alphas.family == "darts":
        for kind in alphas.kinds:
            for node in sorted({dst for _, dst in alphas.edge_ends}):
                inputs = _incoming(alphas, node)
                order = sorted(inputs, key=lambda e: -strength[kind, e])  # stable: ties keep DARTS order
                for k in order[2:]:
                    proj.pruned[kind][k] = True
                rows += [{**_rows(alphas, weights, "topology", 0, kind, k, [proj.chosen[kind][k]], math.nan,
                                  [math.nan], set())[0], "selected": k in order[:2]} for k in inputs]
    return build_arch(alphas, proj, sel.space), rows


def _pt_select(sel: _Selector, *, seed: int, tune_epochs: int, tune_lr: float | None,
               within: SearchSpace | None = None
               ) -> tuple[NB201Arch | DartsGenotype, list[dict[str, Any]], list[float]]:
    alphas = sel.load()
    members = None if within is None else _members_ops(alphas, within)
    weights, proj, config = sel.weights(), sel.projection, sel.config
    assert sel.splits is not None
    data = DeviceData(sel.splits, sel.device)
    batches = data.fixed_batches("val", config.batch_size)
    trainer = WeightTrainer(config, sel.supernet, data)
    trainer.set_lr(config.lr_min if tune_lr is None else tune_lr)
    rng = np.random.default_rng(seed)
    tuned = 0

    def accuracy(**removed: Any) -> float:
        arg = alphas.forward_arg(proj.project(weights, **removed), proj.single_paths())
        return evaluate(sel.supernet, arg, batches, batch_stats=True, noise_seed=seed)[1]

    def tune() -> None:
        nonlocal tuned
        arg = alphas.forward_arg(proj.project(weights), proj.single_paths())
        train_y = data.parts["train"].y
        for _ in range(tune_epochs):
            torch_seed, data_seed = epoch_seeds(seed, tuned)
            tuned += 1
            torch.manual_seed(torch_seed)
            generator = torch.Generator(device=data.device).manual_seed(data_seed)
            order = torch.randperm(len(train_y), generator=generator, device=data.device)
            sel.supernet.train()
            for a, b in batch_bounds(len(train_y), config.batch_size):
                idx = order[a:b]
                trainer.step(trainer.augmented("train", idx, generator), train_y[idx], arg)

    op_queues = {kind: [int(k) for k in rng.permutation(alphas.n_edges(kind))
                        if proj.chosen[kind][k] < 0 and not proj.pruned[kind][k]] for kind in alphas.kinds}
    nodes = sorted({dst for _, dst in alphas.edge_ends}) if alphas.family == "darts" else []
    node_queues = {kind: [int(n) for n in rng.permutation(nodes)
                          if sum(not proj.pruned[kind][k] for k in _incoming(alphas, int(n))) > 2]
                   for kind in alphas.kinds}
    n_op_rounds = max(len(q) for q in op_queues.values())
    n_rounds = n_op_rounds + max((len(q) for q in node_queues.values()), default=0)
    rows: list[dict[str, Any]] = []
    trajectory = [accuracy()]
    for r in range(n_rounds):
        base = trajectory[-1]  # the supernet's accuracy as it stands; updated after each decision
        for kind in alphas.kinds:
            if r < n_op_rounds and r < len(op_queues[kind]):  # operation selection phase
                k = op_queues[kind][r]
                options = _selectable(alphas, kind, k) if members is None else _consistent(members, proj, k)
                accs = [accuracy(remove_op=(kind, k, i)) for i in options]
                proj.chosen[kind][k] = options[int(np.argmin(accs))]
                rows += _rows(alphas, weights, "op", r, kind, k, options, base, accs, {proj.chosen[kind][k]})
                base = accuracy()
            elif r >= n_op_rounds and r - n_op_rounds < len(node_queues[kind]):  # topology selection phase
                node = node_queues[kind][r - n_op_rounds]
                inputs = [k for k in _incoming(alphas, node) if not proj.pruned[kind][k]]
                accs = [accuracy(remove_edge=(kind, k)) for k in inputs]
                keep = {inputs[i] for i in np.argsort(accs, kind="stable")[:2]}
                for k in inputs:
                    proj.pruned[kind][k] = k not in keep
                    rows.append({**_rows(alphas, weights, "topology", r, kind, k, [proj.chosen[kind][k]], base,
                                         [accs[inputs.index(k)]], set())[0], "selected": k in keep})
                base = accuracy()
        if r < n_rounds - 1 and tune_epochs > 0:
            tune()
            base = accuracy()
        trajectory.append(base)
    return build_arch(alphas, proj, sel.space), rows, trajectory


def _check(method: str, sel: _Selector, seed: int, tune_epochs: int) -> None:
    if method not in SELECTION_METHODS:
        raise ConfigError(f"selection method must be one of {sorted(SELECTION_METHODS)}, got {method!r}")
    family = sel.config.family
    if family not in SELECTION_METHODS[method]:
        raise ConfigError(f"selection {method!r} supports {list(SELECTION_METHODS[method])} spaces, not "
                          f"{sel.config.space!r}")
    if not isinstance(seed, int | np.integer):
        raise ConfigError(f"seed must be an int, got {seed!r}")
    if tune_epochs < 0:
        raise ConfigError(f"tune_epochs must be >= 0, got {tune_epochs}")
    if method == "pt" and sel.splits is not None and len(sel.splits.val) < 2:
        raise ConfigError("perturbation-based selection measures accuracy on the validation split, which has "
                          f"{len(sel.splits.val)} images")


def select(source: Source, method: str = "pt", *, seed: int, splits: DatasetSplits | None = None,
           tune_epochs: int = PAPER_TUNE_EPOCHS, tune_lr: float | None = None, device: str | None = None,
           within: SearchSpace | None = None) -> Selection:
    """Derive an architecture from a searched ``source`` (run, snapshot or snapshot file) by ``method``
    (module doc). ``splits`` (needed for a snapshot) must be the search's data; PT tunes between decisions
    for ``tune_epochs`` epochs at ``tune_lr`` (default: the search's final LR) and orders edges by ``seed``.

    ``within`` (NB201 only) restricts the choice to a reduced space's members (search-phase paper Sec. 3.2):
    ``alpha`` takes the member with the largest product of its ops' weights, ``pt`` offers on each edge only
    the candidates some member completes given the decisions so far."""
    started = time.perf_counter()
    sel = _Selector(source, splits, device)
    _check(method, sel, seed, tune_epochs)
    devices = [sel.device.index or 0] if sel.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        if method == "alpha":
            arch, rows = _alpha_select(sel, within)
            trajectory: list[float] = []
        else:
            arch, rows, trajectory = _pt_select(sel, seed=int(seed), tune_epochs=tune_epochs, tune_lr=tune_lr,
                                                within=within)
    return Selection(arch, method, sel.space.name, int(seed), sel.snapshot.epoch,
                     tune_epochs if method == "pt" else 0, pd.DataFrame(rows), tuple(trajectory),
                     time.perf_counter() - started)


def operation_strength(source: Source, *, seed: int, splits: DatasetSplits | None = None,
                       device: str | None = None) -> pd.DataFrame:
    """Every (cell, edge, op) of a searched supernet (selection paper Sec. 3.1, Fig. 1/7): alpha, softmax
    weight, and the supernet's validation accuracy (%) with that op removed (``acc_without``, the PT
    measure) and with the edge discretised to it (``acc_discretized``, without tuning), next to the
    unperturbed accuracy ``acc_base``."""
    sel = _Selector(source, splits, device)
    _check("pt", sel, seed, 0)
    devices = [sel.device.index or 0] if sel.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        alphas = sel.load()
        weights, proj = sel.weights(), sel.projection
        assert sel.splits is not None
        batches = DeviceData(sel.splits, sel.device).fixed_batches("val", sel.config.batch_size)

        def accuracy(projection: Projection, **removed: Any) -> float:
            arg = alphas.forward_arg(projection.project(weights, **removed), projection.single_paths())
            return evaluate(sel.supernet, arg, batches, batch_stats=True, noise_seed=int(seed))[1]

        base = accuracy(proj)
        rows = []
        for kind in alphas.kinds:
            for k in range(alphas.n_edges(kind)):
                if proj.pruned[kind][k]:
                    continue
                options = _selectable(alphas, kind, k)
                without = [accuracy(proj, remove_op=(kind, k, i)) for i in options]
                discretized = []
                for i in options:
                    fixed = proj.copy()
                    fixed.chosen[kind][k] = i
                    discretized.append(accuracy(fixed))
                for row, acc in zip(_rows(alphas, weights, "op", 0, kind, k, options, base, without, set()),
                                    discretized, strict=True):
                    del row["phase"], row["round"], row["selected"]
                    rows.append({**row, "acc_discretized": acc})
    return pd.DataFrame(rows)


def alpha_agreement(strength: pd.DataFrame) -> pd.DataFrame:
    """Per edge of an ``operation_strength`` table: the op of largest alpha, the op whose removal hurts
    most (PT), the op of best discretisation accuracy, and whether alpha agrees with each."""
    rows = []
    for (kind, edge), group in strength.groupby(["cell", "edge"], sort=True):
        ops = group["op"].to_numpy()
        by_alpha = ops[int(np.argmax(group["alpha"].to_numpy()))]
        by_removal = ops[int(np.argmin(group["acc_without"].to_numpy()))]
        by_discrete = ops[int(np.argmax(group["acc_discretized"].to_numpy()))]
        rows.append({"cell": kind, "edge": edge, "alpha_op": by_alpha, "pt_op": by_removal,
                     "discretized_op": by_discrete, "alpha_is_pt": by_alpha == by_removal,
                     "alpha_is_discretized": by_alpha == by_discrete})
    return pd.DataFrame(rows)
