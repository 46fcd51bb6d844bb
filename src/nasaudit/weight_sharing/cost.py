"""Counted work of a weight-sharing method and of one stand-alone training, for comparisons at equal cost
(search-phase paper Sec. 3.1 and App. A.2: a method's final architecture against random search given as many
queries as the method's cost pays for).

Work is counted, not timed, so that the same spec gives the same numbers on any machine, load and executor:
multiply-adds of the forward passes (``nasaudit.nn.count_flops``, the papers' "FLOPs") times the images they
see, a training step counted as forward + backward = 3 forward passes (the backward pass costs about twice the
forward). Per seed of a method:

* ``darts`` (first order, Liu et al. 2019, Alg. 1; quark0/darts ``cnn/architect.py`` at ``f276dd3``): every
  step a weight step on a training batch and an alpha step on a validation batch, both through the mixed
  supernet (every candidate of every edge), and the supernet's validation pass after each epoch;
* ``darts_pt`` adds perturbation-based selection (ruocwang/darts-pt ``nasbench201/projection.py``): one
  validation pass per candidate looked at and per decision, and the tuning epochs of search steps between
  decisions (``selection.pt_schedule``; counted at the mixed supernet's cost, an upper bound where decided edges
  already run one op); ``darts_pt_mag`` (PT-Mag) the same but no pass per candidate of an operation decision
  (it takes the largest alpha);
* ``darts_pt_fixed``: the weight steps of DARTS with alpha fixed, so no alpha steps (nor in its PT tuning);
* ``sdarts_rs`` (Chen & Hsieh 2020): DARTS's steps (the perturbed weights still run every candidate);
* ``sgas`` (Li et al. 2020): DARTS's steps, but an edge SGAS has decided runs only its op: each epoch's steps
  are counted with the edges decided before it (the mean over ``PATH_SAMPLES`` seeded draws of which edges and
  ops), and so is its validation pass (an upper bound: ours validates after the epoch's decision);
* ``gdas`` (Dong & Yang 2019; D-X-Y/AutoDL-Projects ``GDAS.py``): the same steps through one sampled candidate
  per edge (the mean over ``PATH_SAMPLES`` seeded draws);
* ``spos_evolution`` (Guo et al. 2020): single-path weight steps (the mean path over ``PATH_SAMPLES`` seeded
  architectures), then one forward pass over the ranking images per architecture the evolution queries;
* ``enas`` (Pham et al. 2018): the same single-path steps, plus the controller's samples scored by the supernet
  after each epoch and the samples that derive the final cell (the LSTM controller itself is negligible and
  not counted).

Scoring the fixed rank set after each ranked epoch is the audit's measurement, not the method's cost, and is
not counted. One stand-alone training of a recipe: 3 x forward multiply-adds x training images x epochs.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar, Protocol, cast

import numpy as np
import torch
from torch import nn

from nasaudit.data.loading import load_dataset
from nasaudit.data.splits import DatasetSplits
from nasaudit.nn.networks import count_flops
from nasaudit.spaces.registry import get_space
from nasaudit.truth.builder import BuildSpec
from nasaudit.weight_sharing.differentiable.alpha import ArchParameters, Projection
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.differentiable.search import batch_bounds, close_full_nodes
from nasaudit.weight_sharing.differentiable.selection import pt_schedule
from nasaudit.weight_sharing.setup import WSSetup, build_epochs
from nasaudit.weight_sharing.supernet.modules import Supernet

#: a training step's forward + backward, in forward passes
FORWARD_BACKWARD = 3
#: seeded paths whose mean forward cost stands for a single-path step
PATH_SAMPLES = 16


class _Bound(nn.Module):
    """A supernet with its forward argument fixed, so that ``count_flops`` can run it on images alone."""

    def __init__(self, supernet: Supernet, arg: Any) -> None:
        super().__init__()
        self.supernet, self.arg = supernet, arg

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.supernet(x, self.arg)


def supernet_macs(supernet: Supernet, arg: Any, splits: DatasetSplits) -> int:
    """Forward multiply-adds per image of ``supernet`` run with the forward argument ``arg`` (a path, alphas)."""
    return count_flops(_Bound(supernet, arg), (splits.in_channels, splits.image_size, splits.image_size))


def decided_macs(supernet: Supernet, alphas: ArchParameters, splits: DatasetSplits, decided: int) -> float:
    """Forward multiply-adds per image of the mixed ``supernet`` once ``decided`` edges of each cell kind run one op
    (SGAS's decisions, ``differentiable.search.sgas_decide``): the mean over ``PATH_SAMPLES`` seeded draws of which
    open edge and which op (not ``none``) each decision takes, a DARTS node with two decided inputs dropping the
    others as SGAS does."""
    rng = np.random.default_rng(0)
    weights = {k: w.detach() for k, w in alphas.weights().items()}
    macs = []
    for _ in range(PATH_SAMPLES):
        projection = Projection.empty(alphas)
        for _ in range(decided):
            for kind in alphas.kinds:
                open_edges = [k for k in range(alphas.n_edges(kind))
                              if projection.chosen[kind][k] < 0 and not projection.pruned[kind][k]]
                if open_edges:
                    edge = open_edges[int(rng.integers(len(open_edges)))]
                    real = [i for i, op in enumerate(alphas.candidates[kind][edge]) if op != "none"]
                    projection.chosen[kind][edge] = real[int(rng.integers(len(real)))]
                    close_full_nodes(alphas, projection, kind)
        arg = alphas.forward_arg(projection.project(weights), projection.single_paths())
        macs.append(supernet_macs(supernet, arg, splits))
    return float(np.mean(macs))


def _splits(setup: WSSetup) -> DatasetSplits:
    """The data of a setup (the split sizes do not depend on the seed)."""
    return load_dataset(setup.dataset, setup.data_root, val_fraction=setup.val_fraction, seed=0)


def _alpha_steps_images(n_train: int, n_val: int, batch: int) -> int:
    """Validation images the alpha steps of one search epoch see (one validation batch per training batch,
    cycling through the validation batches, as ``differentiable.search`` steps)."""
    val = batch_bounds(n_val, batch)
    return sum(val[step % len(val)][1] - val[step % len(val)][0] for step in range(len(batch_bounds(n_train, batch))))


def _pt_counts(alphas: ArchParameters, tune_epochs: int, magnitude: bool = False) -> tuple[int, int]:
    """Validation passes and tuning epochs of perturbation-based selection on ``alphas``' supernet: per decided edge
    each selectable candidate removed once (none with ``magnitude``, PT-Mag) and the result once; per DARTS node
    with more than two inputs each input removed once and the result once; the supernet once at the start and
    after every tuning, the tuning epochs between rounds as ``differentiable.selection.pt_schedule`` spaces
    them."""
    passes, op_rounds, node_rounds = 1, 0, 0
    for kind in alphas.kinds:
        edges = alphas.candidates[kind]
        removals = [0 if magnitude else sum(1 for op in ops if alphas.family == "nb201" or op != "none")
                    for ops in edges]
        passes += sum(n + 1 for n in removals)
        op_rounds = max(op_rounds, len(edges))
        if alphas.family == "darts":
            inputs = [sum(1 for _, dst in alphas.edge_ends if dst == node) for node in {d for _, d in alphas.edge_ends}]
            passes += sum(n + 1 for n in inputs if n > 2)
            node_rounds = max(node_rounds, sum(1 for n in inputs if n > 2))
    gaps = pt_schedule(alphas.family, op_rounds + node_rounds, tune_epochs)
    return passes + sum(1 for gap in gaps if gap > 0), sum(gaps)


@dataclass(frozen=True)
class SearchWork:
    """Counted work of one differentiable search (``darts.DartsAlpha`` and its variants): multiply-adds per image
    of one search ``step`` (the method's ``step_macs``, its mean over the epochs) and of the ``mixed`` supernet, the
    split sizes, the validation images the alpha steps of one epoch see (none for a search of fixed alpha), and
    the training images its alpha steps pass over besides (second order: ``alpha_train_passes`` per training batch)
    and the searched ``alphas`` (for PT's counts)."""

    epochs: int
    step: float
    mixed: int
    n_train: int
    n_val: int
    alpha_images: int
    alpha_train_images: int
    alphas: ArchParameters

    @property
    def search_epoch(self) -> float:
        """Weight and alpha steps of one epoch."""
        return FORWARD_BACKWARD * self.step * (self.n_train + self.alpha_images + self.alpha_train_images)

    @property
    def training(self) -> float:
        """Every epoch's steps and its validation pass."""
        return self.epochs * (self.search_epoch + self.step * self.n_val)


@lru_cache(maxsize=32)
def _search_work(name: str, setup: WSSetup, config: SearchConfig) -> SearchWork:
    from nasaudit.weight_sharing.base import get_method

    method = cast("DifferentiableMethod", get_method(name))  # search_work's caller is one
    splits = _splits(setup)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        supernet = config.build_supernet(splits)
        alphas = ArchParameters(supernet, generator=torch.Generator().manual_seed(0))
    weights = {k: w.detach() for k, w in alphas.weights().items()}
    mixed = supernet_macs(supernet, alphas.forward_arg(weights), splits)
    step = method.step_macs(config, supernet, alphas, weights, mixed, splits)
    n_train, n_val = len(splits.train), len(splits.val)
    alpha_images = _alpha_steps_images(n_train, n_val, config.batch_size) if method.trains_alpha else 0
    alpha_train = method.alpha_train_passes * n_train if method.trains_alpha else 0
    return SearchWork(config.epochs, step, mixed, n_train, n_val, alpha_images, alpha_train, alphas)


class DifferentiableMethod(Protocol):
    """What ``search_work`` counts of a differentiable method (``methods.darts.DartsAlpha`` and its variants)."""

    name: ClassVar[str]
    algorithm: ClassVar[str]
    trains_alpha: ClassVar[bool]
    alpha_train_passes: ClassVar[int]

    def step_macs(self, config: SearchConfig, supernet: Supernet, alphas: ArchParameters,
                  weights: dict[str, torch.Tensor], mixed: int, splits: DatasetSplits) -> float: ...

    def search_config(self, setup: WSSetup) -> SearchConfig: ...


def search_work(method: DifferentiableMethod, setup: WSSetup) -> SearchWork:
    """Counted work of ``method``'s differentiable search under ``setup`` (module doc): the search it runs, its own
    settings included (``search_config``); cached per method and search."""
    return _search_work(method.name, setup, method.search_config(setup))


def pt_work(work: SearchWork, tune_epochs: int, magnitude: bool = False) -> float:
    """What perturbation-based selection (``magnitude``: PT-Mag) adds to a search's work: its validation passes
    through the mixed supernet and its tuning epochs, steps as the search's (module doc)."""
    passes, tune = _pt_counts(work.alphas, tune_epochs, magnitude)
    return passes * work.mixed * work.n_val + tune * (work.search_epoch + work.mixed * work.n_val)


@dataclass(frozen=True)
class SinglePathWork:
    """Counted work of a single-path supernet training (``WSSetup.single_path_config``): its weight steps (``training``)
    and one supernet query, a forward pass of the mean path over the ranking images (``query``)."""

    training: float
    query: float


@lru_cache(maxsize=32)
def single_path_work(setup: WSSetup, sampling: str = "uniform") -> SinglePathWork:
    """Counted work of the single-path training of ``setup`` (module doc): ``sampling`` ``uniform`` (or a
    controller) trains one path per step, strictly ``fair`` sampling (FairNAS) all ``|O|`` paths of a step on the
    same batch, so its weight steps cost ``|O|`` times as much."""
    from nasaudit.weight_sharing.supernet.sampling import PathSampler

    space = get_space(setup.space)
    config = setup.single_path_config(space)
    splits = _splits(setup)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        supernet = config.build(splits)
    paths = supernet.encode_many(config.make_space().sample_many(PATH_SAMPLES, 0))
    path = float(np.mean([supernet_macs(supernet, p, splits) for p in paths]))
    query = path * min(setup.rank_images, len(splits.val))
    per_step = PathSampler(supernet, sampling, config.share_topology).paths_per_step
    return SinglePathWork(setup.epochs * FORWARD_BACKWARD * per_step * path * len(splits.train), query)


@dataclass(frozen=True)
class StandAlone:
    """One stand-alone training of a recipe: ``epochs`` over ``images`` training images of networks of ``macs``
    forward multiply-adds per image (the mean over the architectures it stands for)."""

    epochs: int
    images: int
    macs: float

    @property
    def work(self) -> float:
        return FORWARD_BACKWARD * self.macs * self.images * self.epochs

    def describe(self) -> str:
        return (f"{FORWARD_BACKWARD} x {self.macs:.4g} multiply-adds per image x {self.images} images x "
                f"{self.epochs} epochs = {self.work:.4g}")


def standalone(build: BuildSpec, macs: float) -> StandAlone:
    """The stand-alone training of ``build``'s recipe (its protocol with the options' overrides, its dataset and
    validation hold-out, as ``truth.builder.train_job`` trains) for networks of ``macs`` multiply-adds."""
    from nasaudit.train import train_arch

    options = dict(build.options)
    val_fraction = options.get("val_fraction", inspect.signature(train_arch).parameters["val_fraction"].default)
    data_root = dict(build.runtime).get("data_root")
    splits = load_dataset(build.dataset, None if data_root is None else str(data_root),
                          val_fraction=float(val_fraction), seed=build.seeds[0])
    return StandAlone(build_epochs(build), len(splits.train), float(macs))

