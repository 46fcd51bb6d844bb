"""Deriving a discrete architecture from a searched supernet (selection paper Sec. 3-4, App. A.3).

* ``alpha`` (magnitude; DARTS, Liu et al., 2019, Sec. 2.4; selection paper App. A.1.1): on every edge
  the candidate with the largest alpha (DARTS-like spaces: never ``none``), and per DARTS node the two
  inputs whose strongest non-``none`` op weighs most (PC-DARTS, Xu et al., 2020, the release's ``genotype``: that
  weight times the edge's normalised beta, ``ArchParameters.edge_weights``);
* ``pt`` (perturbation-based, selection paper Sec. 4, Alg. 1-2) follows DARTS-PT's ``pt_project``
  (ruocwang/darts-pt, commit c31e3766611ace330416b5dbbc89cbdc53f01972, unchanged at the release's head
  4ec3149: ``sota/cnn/projection.py`` for DARTS-like spaces, ``nasbench201/projection.py`` for NB201):
  the weight optimiser is reset (fresh SGD momentum) to the search's ``lr / 10``, which stays constant
  (the DARTS-space code builds a cosine scheduler towards ``lr_min`` but never steps it; the NB201 code
  has none). One decision round every ``tune_epochs`` (the reference's ``proj_intv``) epochs: on a
  random undecided edge of each cell kind (``edge_decision=random``; normal, then reduce) the
  supernet's validation accuracy with each candidate masked out; the edge keeps the op whose removal
  hurts most (the first on ties). In DARTS-like spaces the topology follows node by node: on a random
  undecided node the two inputs whose removal hurts most stay. Between two rounds the supernet is tuned
  as it was searched: per training batch a first-order alpha step on a validation batch (Adam with the
  search's settings; none for fixed alpha), then a weight step (SDARTS-RS: on perturbed alpha, with
  the perturbation's maximal epsilon, as the reference passes ``epsilon_alpha``). NB201: the reference
  tunes ``proj_intv * (edges - 1)`` epochs and takes its last decision in the final one, i.e. one
  tuning epoch fewer before the last decision. The perturbed supernet is evaluated with batch
  statistics, as the reference does. Where ours differs on purpose: ``none`` is never evaluated nor
  selected in DARTS-like spaces (App. A.1.1; the code evaluates it too); nothing is tuned after the
  last decision (the reference tunes one more epoch, which cannot change the architecture); the alpha
  optimiser starts afresh (a snapshot does not keep Adam's moments, the reference resumes them);
  second-order (``darts2``), SGAS and GDAS searches are tuned with the first-order DARTS step (the
  reference's architect is first-order only and it has no GDAS projection); with ``tune_epochs=1`` on
  NB201 the reference's fifth and last decision coincide and it leaves the sixth edge to alpha, ours
  decides it by perturbation right after the fifth; ``within`` (search-phase paper's reduced spaces)
  offers on each edge only the ops some member completes.
* ``pt_mag`` (selection paper Sec. 6.2, Fig. 6, "DARTS+PT-Mag"): the same progressive tuning, but the
  edge visited keeps its op of largest alpha (as alpha stands after the tuning so far). The ablation
  replaces only the operation selection, so the topology is decided by perturbation as in ``pt`` (the
  release has no code for PT-Mag).

Decisions already in the searched state (SGAS) are kept. Every selection returns the architecture of
the searched space and a per-edge table: alpha and its softmax weight of every op next to the supernet
accuracy without that op, for the selection paper's Fig. 1/7 question "does the largest alpha pick the
op that matters most" (``operation_strength`` measures it on every edge at once).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError, DataError
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsCell, DartsGenotype, DartsSpace
from nasaudit.spaces.nb201 import NB201Arch
from nasaudit.train.loop import resolve_device
from nasaudit.weight_sharing.differentiable.alpha import ArchParameters, Projection
from nasaudit.weight_sharing.differentiable.config import PAPER_TUNE_EPOCHS, SearchConfig
from nasaudit.weight_sharing.differentiable.search import (
    DeviceData,
    SearchRun,
    Snapshot,
    evaluate,
    load_snapshot,
    search_loop,
)

#: selection method -> the space families it supports
SELECTION_METHODS: dict[str, tuple[str, ...]] = {"alpha": ("nb201", "darts"), "pt": ("nb201", "darts"),
                                                 "pt_mag": ("nb201", "darts")}
#: the methods that tune the supernet between decisions (module doc)
PROGRESSIVE = ("pt", "pt_mag")

Source = SearchRun | Snapshot | str | Path


@dataclass
class Selection:
    """A derived architecture with the evidence behind it (module doc).

    ``edges`` has one row per (phase, cell, edge, op) looked at: ``phase`` ("op" or "topology"),
    ``round``, ``cell``, ``edge``, ``src``, ``dst``, ``op``, ``alpha``, ``weight`` (softmax), ``acc_base``
    and ``acc_without`` (supernet validation accuracy % before and with the op / edge removed; NaN for
    ``alpha``), ``selected``. ``trajectory`` is the supernet's validation accuracy (batch statistics) before
    the first decision round and after every round with the tuning that follows it (selection paper Fig. 6).
    ``tuning`` has one row per tuning epoch: ``epoch``, ``after_round`` (the decision round it follows),
    ``lr``, ``train_loss``, ``train_acc``, ``arch_loss`` (NaN without alpha steps), ``val_loss``, ``val_acc``.
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
    tuning: pd.DataFrame = field(default_factory=pd.DataFrame)


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
    with torch.no_grad():
        edges = {k: w.detach() for k, w in alphas.edge_weights().items()} if alphas.edge_normalised else None
    for kind in alphas.kinds:
        projected = proj.project(weights)[kind]
        for k in range(alphas.n_edges(kind)):
            options = _selectable(alphas, kind, k)
            if proj.chosen[kind][k] < 0:
                proj.chosen[kind][k] = options[int(projected[k, options].argmax())]
            strength[kind, k] = -math.inf if proj.pruned[kind][k] else float(projected[k, options].max())
            if edges is not None:  # PC-DARTS genotype(): the edge's weights times its normalised beta
                strength[kind, k] *= float(edges[kind][k])
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


def pt_schedule(family: str, rounds: int, tune_epochs: int) -> list[int]:
    """Tuning epochs before each of ``rounds`` decision rounds of PT (DARTS-PT ``pt_project``, module doc):
    none before the first, ``tune_epochs`` (``proj_intv``) before every other; NB201 one fewer before the
    last, as the reference's last decision falls in its final tuning epoch."""
    gaps = [0] + [tune_epochs] * max(rounds - 1, 0)
    if family == "nb201" and rounds > 1:
        gaps[-1] = max(tune_epochs - 1, 0)
    return gaps[:rounds]


def tuning_config(config: SearchConfig, lr: float) -> SearchConfig:
    """The search setup that tunes a supernet between PT decisions (module doc): first-order DARTS alpha
    steps (fixed alpha: none; SDARTS-RS keeps its perturbation, at its final epsilon throughout) and a
    constant weight LR ``lr``."""
    algorithm = config.algorithm if config.algorithm in ("fixed_alpha", "sdarts_rs") else "darts"
    return replace(config, algorithm=algorithm, lr=lr, lr_min=lr, sdarts_epsilon_start=config.sdarts_epsilon)


class _Tuner:
    """Progressive tuning between decisions: epochs of the search's own alternating steps (``search_loop``) on
    the selector's supernet and alpha, under the decisions taken so far, with a freshly reset weight optimiser
    (module doc)."""

    def __init__(self, sel: _Selector, data: DeviceData, seed: int, lr: float) -> None:
        assert sel.alphas is not None
        # the projection is shared: every tuning step sees the decisions taken
        self.loop, self.step = search_loop(tuning_config(sel.config, lr), sel.supernet, sel.alphas, data,
                                           sel.projection)
        self.seed = seed
        self.records: list[dict[str, Any]] = []

    def run(self, epochs: int, after_round: int) -> None:
        for _ in range(epochs):
            record = self.loop.run_epoch(len(self.records), self.seed)
            self.records.append({"epoch": record.epoch, "after_round": after_round, "lr": record.lr,
                                 "train_loss": record.train_loss, "train_acc": record.train_acc,
                                 "arch_loss": self.step.extras[-1]["arch_loss"], "val_loss": record.val_loss,
                                 "val_acc": record.val_acc})


def _pt_select(sel: _Selector, *, seed: int, tune_epochs: int, tune_lr: float | None, magnitude: bool = False,
               within: SearchSpace | None = None
               ) -> tuple[NB201Arch | DartsGenotype, list[dict[str, Any]], list[float], list[dict[str, Any]]]:
    alphas = sel.load()
    members = None if within is None else _members_ops(alphas, within)
    proj, config = sel.projection, sel.config
    assert sel.splits is not None
    data = DeviceData(sel.splits, sel.device)
    batches = data.fixed_batches("val", config.batch_size)
    tuner = _Tuner(sel, data, seed, config.lr / 10 if tune_lr is None else tune_lr)
    rng = np.random.default_rng(seed)

    def accuracy(**removed: Any) -> float:
        arg = alphas.forward_arg(proj.project(sel.weights(), **removed), proj.single_paths())
        return evaluate(sel.supernet, arg, batches, batch_stats=True, noise_seed=seed)[1]

    op_queues = {kind: [int(k) for k in rng.permutation(alphas.n_edges(kind))
                        if proj.chosen[kind][k] < 0 and not proj.pruned[kind][k]] for kind in alphas.kinds}
    nodes = sorted({dst for _, dst in alphas.edge_ends}) if alphas.family == "darts" else []
    node_queues = {kind: [int(n) for n in rng.permutation(nodes)
                          if sum(not proj.pruned[kind][k] for k in _incoming(alphas, int(n))) > 2]
                   for kind in alphas.kinds}
    n_op_rounds = max(len(q) for q in op_queues.values())
    n_rounds = n_op_rounds + max((len(q) for q in node_queues.values()), default=0)
    gaps = pt_schedule(alphas.family, n_rounds, tune_epochs)
    rows: list[dict[str, Any]] = []
    trajectory = [accuracy()]
    for r in range(n_rounds):
        base = trajectory[-1]  # the supernet's accuracy as it stands; updated after each decision
        weights = sel.weights()  # alpha as the tuning so far left it
        for kind in alphas.kinds:
            if r < n_op_rounds and r < len(op_queues[kind]):  # operation selection phase
                k = op_queues[kind][r]
                options = _selectable(alphas, kind, k) if members is None else _consistent(members, proj, k)
                if magnitude:  # PT-Mag: the op of largest alpha at its turn
                    accs = [math.nan] * len(options)
                    proj.chosen[kind][k] = options[int(proj.project(weights)[kind][k, options].argmax())]
                else:
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
        if r + 1 < n_rounds and gaps[r + 1] > 0:
            tuner.run(gaps[r + 1], after_round=r)
            base = accuracy()
        trajectory.append(base)
    return build_arch(alphas, proj, sel.space), rows, trajectory, tuner.records


def _check(method: str, sel: _Selector, seed: int, tune_epochs: int, tune_lr: float | None = None) -> None:
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
    if tune_lr is not None and not (math.isfinite(tune_lr) and tune_lr > 0):
        raise ConfigError(f"tune_lr must be a positive number, got {tune_lr}")
    if method in PROGRESSIVE and sel.splits is not None and len(sel.splits.val) < 2:
        raise ConfigError("perturbation-based selection measures accuracy on the validation split, which has "
                          f"{len(sel.splits.val)} images")


def select(source: Source, method: str = "pt", *, seed: int, splits: DatasetSplits | None = None,
           tune_epochs: int = PAPER_TUNE_EPOCHS, tune_lr: float | None = None, device: str | None = None,
           within: SearchSpace | None = None) -> Selection:
    """Derive an architecture from a searched ``source`` (run, snapshot or snapshot file) by ``method``
    (module doc). ``splits`` (needed for a snapshot) must be the search's data; PT and PT-Mag tune for
    ``tune_epochs`` epochs between decisions (DARTS-PT's ``proj_intv``) at ``tune_lr`` (default: the
    search's ``lr / 10``, as the reference) and visit edges in an order drawn from ``seed``.

    ``within`` (NB201 only) restricts the choice to a reduced space's members (search-phase paper Sec. 3.2):
    ``alpha`` takes the member with the largest product of its ops' weights, ``pt`` offers on each edge only
    the candidates some member completes given the decisions so far."""
    started = time.perf_counter()
    sel = _Selector(source, splits, device)
    _check(method, sel, seed, tune_epochs, tune_lr)
    devices = [sel.device.index or 0] if sel.device.type == "cuda" else []
    tuning: list[dict[str, Any]] = []
    with torch.random.fork_rng(devices=devices):
        if method == "alpha":
            arch, rows = _alpha_select(sel, within)
            trajectory: list[float] = []
        else:
            arch, rows, trajectory, tuning = _pt_select(sel, seed=int(seed), tune_epochs=tune_epochs,
                                                        tune_lr=tune_lr, magnitude=method == "pt_mag",
                                                        within=within)
    return Selection(arch, method, sel.space.name, int(seed), sel.snapshot.epoch,
                     tune_epochs if method in PROGRESSIVE else 0, pd.DataFrame(rows), tuple(trajectory),
                     time.perf_counter() - started, pd.DataFrame(tuning))


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
