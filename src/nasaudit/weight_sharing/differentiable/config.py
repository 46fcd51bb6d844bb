"""``SearchConfig``: one differentiable search setup, with the papers' settings as defaults.

Sources of the defaults (the selection paper, Sec. 5: "We keep all the search and retrain settings
identical to DARTS"):

* DARTS (Liu et al., 2019, Sec. 3.1.1 and App. A.1; quark0/darts@8876e793763398e3ee62ac1823fa0a3c14e8c2c5,
  cnn/train_search.py): 50 epochs, batch 64, weights by SGD, momentum 0.9, LR 0.025 cosine-annealed per
  epoch to 0.001, weight decay 3e-4, gradient clipping at 5; alpha by Adam, LR 3e-4, betas (0.5, 0.999),
  weight decay 1e-3, initialised 1e-3 N(0, 1); 8 cells, 16 channels; the 8-op set including ``none``;
  batch norm without affine parameters; random crop and flip. A DARTS network puts its reduction cells
  at ``layers // 3`` and ``2 * layers // 3``, so it has a normal cell (and a normal alpha to learn) only
  from 3 cells on: a shallower DARTS-space search is refused.
* NB201 search network (NB201 paper Sec. 5; DARTS-PT NB201 scripts): 5 cells per stage, 16 channels.
* SDARTS-RS (Chen & Hsieh, 2020; xiangning-chen/SmoothDARTS@d3dbfed06643d5fd4056edd90891ec9109634ada,
  sota/cnn/train_search.py and nasbench201/train_search.py): the softmax weights perturbed by
  U(-epsilon, epsilon) for every weight step (``ArchParameters.randomly_smoothed_weights``), epsilon
  ``0.03 + (0.3 - 0.03) * epoch / epochs`` in epoch ``epoch = 0, 1, ...`` (``sdarts_epsilon_at``).
* SGAS criterion 1 (Li et al., 2020, public code for CIFAR-10): first decision after 10 epochs
  (``warmup_dec_epoch=9``), then one every 5 epochs.
* GDAS (Dong & Yang, 2019; D-X-Y/AutoDL-Projects@f46486e21b71ae6459a700be720d7648b5429569,
  exps/NAS-Bench-201-algos/GDAS.py with configs/nas-benchmark/algos/GDAS.config and
  scripts-search/NAS-Bench-201-algos/GDAS.sh): weights by SGD with Nesterov momentum 0.9 and weight decay
  5e-4 (``ALGORITHM_DEFAULTS``), LR 0.025 cosine-annealed per epoch to 0.001, gradient clipping at 5,
  batch 64; alpha by Adam, LR 3e-4, betas (0.5, 0.999), weight decay 1e-3; temperature
  ``10 - (10 - 0.1) * epoch / (epochs - 1)``; the weight step comes before the alpha step. Ours differs
  on purpose in one number: AutoDL searches 250 epochs, ours defaults to DARTS's 50, so that one
  comparison gives every method the same budget (set ``epochs`` for AutoDL's).
* DrNAS (Chen et al., 2021; xiangning-chen/DrNAS@f2caa4dbdd96c1be29b56cb7ed47a74a184e6ef0,
  201-space/train_search.py with ``--method dirichlet``): DARTS's weight and alpha settings and order (alpha
  step first); ``drnas_reg`` is the release's ``reg_type``: ``"l2"`` (its default) puts ``arch_weight_decay``
  (its ``reg_scale``, 1e-3) on Adam as weight decay, ``"kl"`` instead adds ``arch_weight_decay`` times the KL
  divergence to the uniform Dirichlet to the alpha loss and gives Adam no weight decay (``alpha_weight_decay``).
  Its DARTS-space search has no ``none`` candidate (``ALGORITHM_DEFAULTS``). Its 100 NB201 epochs are 50 here,
  as for GDAS.
* PC-DARTS (Xu et al., 2020; yuhuixu1993/PC-DARTS@225925a390c26616331d5b83fddc9c34ffbb9887, ``model_search.py``,
  ``train_search.py``): DARTS's first-order search on the partially connected supernet (``partial``), 1/``pcdarts_k``
  of each edge's channels through the candidates (the release's ``k = 4``), with edge normalisation. The release's
  batch 256, LR 0.1, alpha LR 6e-4 and 15 epochs without alpha steps are not taken over: every DARTS-family method
  of a comparison keeps DARTS's settings (``methods/pcdarts.py``). ``pcdarts_k`` is left out of the config's repr
  (the search's checkpoint key, so that the keys of every other search stay as they were); ``search`` adds it to
  the key of a PC-DARTS search.
* PT selection (selection paper Sec. 5.1 and App. A.7): 5 tuning epochs between two decisions.
* NB101 spaces (search-phase paper Table 3B, App. C.6; NAS-Bench-1Shot1, Zela et al., 2020,
  automl/nasbench-1shot1@cb0f0ec61ce8b37f8e2d0f2728c3ef0b9ec81bf1, ``optimizers/darts/train_search.py``): the mixed
  supernet of ``nb101_mixed`` with ``max_vertices`` vertices (field, NB101 only; left out of the config's repr as
  ``pcdarts_k``), 16 channels and 3 cells per stack (the release's ``init_channels`` 16, ``layers`` 9), DARTS's
  optimiser settings (the release's). Only the searches whose update runs unchanged on that supernet take it
  (``NB101_ALGORITHMS``).

``tiny`` gives a CPU-sized variant (a few epochs of a 4-channel supernet) for tests and smoke runs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from nasaudit.data.augment import Augmentation
from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError, SpaceError
from nasaudit.limits import MAX_CHANNELS
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsSpace
from nasaudit.spaces.nb101 import NB101Space
from nasaudit.spaces.registry import get_space
from nasaudit.train.protocols import TrainProtocol
from nasaudit.weight_sharing.supernet.modules import Supernet, build_supernet

ALGORITHMS: tuple[str, ...] = ("darts", "darts2", "sdarts_rs", "sgas", "gdas", "drnas", "pcdarts", "fixed_alpha")
#: the searches defined on NB101's mixed supernet (``nb101_mixed``): SGAS decides one input per row and PC-DARTS's
#: partial channels exist for NB201 and DARTS cells only; GDAS on NB101 (1Shot1's soft Gumbel inputs) and SDARTS-RS
#: are not taken over
NB101_ALGORITHMS: tuple[str, ...] = ("darts", "darts2", "drnas", "fixed_alpha")
#: weight-optimiser settings a field left at ``None`` takes: DARTS's, or the algorithm's own (module doc)
ALGORITHM_DEFAULTS: dict[str, dict[str, Any]] = {
    "default": {"weight_decay": 3e-4, "nesterov": False},
    "gdas": {"weight_decay": 5e-4, "nesterov": True},
    "drnas": {"weight_decay": 3e-4, "nesterov": False, "none_candidate": False},
}
#: DrNAS's regularisers of the Dirichlet concentration (``reg_type`` of its release; module doc)
DRNAS_REGULARISERS: tuple[str, ...] = ("l2", "kl")
#: fewest cells of a DARTS search network that leave a normal cell (reductions at layers//3, 2*layers//3)
MIN_DARTS_DEPTH = 3
#: default (width, depth) of the search network per space family (module doc)
SEARCH_MACRO: dict[str, dict[str, int]] = {"nb201": {"channels": 16, "cells_per_stage": 5},
                                           "darts": {"channels": 16, "layers": 8},
                                           "nb101": {"channels": 16, "cells_per_stack": 3}}
_DEPTH_KEY = {"nb201": "cells_per_stage", "darts": "layers", "nb101": "cells_per_stack"}
#: PT: tuning epochs between two decisions (selection paper Sec. 5.1, App. A.7)
PAPER_TUNE_EPOCHS = 5


@dataclass(frozen=True)
class SearchConfig:
    """A differentiable search (module doc for the sources of every default).

    ``mask`` removes ops from the space; ``channels``/``depth`` override the search network's width and
    depth (DARTS: cells, at least ``MIN_DARTS_DEPTH``; NB201: cells per stage). ``none_candidate`` adds
    DARTS's ``none`` candidate to every edge (``None``: only for the space ``darts``, whose published
    search used it). ``weight_decay`` and ``nesterov`` left at ``None`` take the algorithm's published
    setting (``ALGORITHM_DEFAULTS``) when the config is made. ``sdarts_epsilon`` is SDARTS-RS's final
    epsilon and ``sdarts_epsilon_start`` its first (``sdarts_epsilon_at``). ``drnas_reg`` is DrNAS's regulariser
    of the concentration, ``"l2"`` or ``"kl"`` (``alpha_weight_decay``, ``drnas_kl_scale``). ``pcdarts_k`` is
    PC-DARTS's channel proportion 1/k (it must divide ``channels``).
    """

    algorithm: str = "darts"
    space: str = "darts"
    mask: tuple[str, ...] = ()
    channels: int | None = None
    depth: int | None = None
    epochs: int = 50
    batch_size: int = 64
    lr: float = 0.025
    lr_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool | None = None
    weight_decay: float | None = None
    grad_clip: float = 5.0
    arch_lr: float = 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    alpha_init: float = 1e-3
    crop_padding: int = 4
    flip: bool = True
    affine: bool = False
    none_candidate: bool | None = None
    sdarts_epsilon: float = 0.3
    sdarts_epsilon_start: float = 0.03
    sgas_warmup: int = 9
    sgas_interval: int = 5
    gdas_tau: tuple[float, float] = (10.0, 0.1)
    drnas_reg: str = "l2"
    pcdarts_k: int = field(default=4, repr=False)
    max_vertices: int | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mask", tuple(sorted(self.mask)))
        object.__setattr__(self, "arch_betas", tuple(float(b) for b in self.arch_betas))
        object.__setattr__(self, "gdas_tau", tuple(float(t) for t in self.gdas_tau))
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"search algorithm must be one of {list(ALGORITHMS)}, got {self.algorithm!r}")
        for name, value in ALGORITHM_DEFAULTS.get(self.algorithm, ALGORITHM_DEFAULTS["default"]).items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        family = self.family  # checks the space
        for name in ("epochs", "batch_size", "sgas_interval"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {getattr(self, name)}")
        for name in ("channels", "depth"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value}")
        if self.max_vertices is not None and family != "nb101":
            raise ConfigError(f"max_vertices applies to NB101 spaces only, not {self.space!r}")
        if family == "nb101" and self.algorithm not in NB101_ALGORITHMS:
            raise ConfigError(f"the {self.algorithm} search is not defined on NB101 spaces; there: "
                              f"{list(NB101_ALGORITHMS)}")
        if family == "nb101":  # at least one interior vertex, an edge into each (one line, before any compute)
            from nasaudit.weight_sharing.differentiable.nb101_mixed import check_width, parent_counts

            space = self.make_space()
            assert isinstance(space, NB101Space)
            parent_counts(space.max_vertices, space.max_edges)
            check_width(space.max_vertices, self.macro()["channels"])
        if family == "darts" and self.depth is not None and self.depth < MIN_DARTS_DEPTH:
            raise ConfigError(f"a DARTS search network needs depth >= {MIN_DARTS_DEPTH}: with {self.depth} cell(s) "
                              "the reduction cells at layers//3 and 2*layers//3 leave no normal cell")
        if self.nesterov and (self.algorithm == "darts2" or self.momentum <= 0):
            raise ConfigError("nesterov=True needs momentum > 0, and darts2 (which unrolls a plain-momentum SGD "
                              "step) cannot take it")
        if min(self.lr, self.arch_lr, self.grad_clip) <= 0 or min(self.lr_min, self._weight_decay(),
                                                                   self.arch_weight_decay, self.alpha_init,
                                                                   self.sdarts_epsilon, self.sdarts_epsilon_start,
                                                                   self.sgas_warmup) < 0:
            raise ConfigError("learning rates and grad_clip must be > 0; lr_min, weight decays, alpha_init, "
                              "sdarts_epsilon(_start) and sgas_warmup must be >= 0")
        if self.drnas_reg not in DRNAS_REGULARISERS:
            raise ConfigError(f"drnas_reg must be one of {list(DRNAS_REGULARISERS)}, got {self.drnas_reg!r}")
        if not 1 <= self.pcdarts_k <= MAX_CHANNELS:
            raise ConfigError(f"pcdarts_k must lie in 1..{MAX_CHANNELS}, got {self.pcdarts_k}")
        if self.algorithm == "pcdarts" and self.macro()["channels"] % self.pcdarts_k:
            raise ConfigError(f"PC-DARTS runs 1/k of every edge's channels: k={self.pcdarts_k} must divide the "
                              f"search network's {self.macro()['channels']} channels")
        if len(self.gdas_tau) != 2 or min(self.gdas_tau) <= 0 or len(self.arch_betas) != 2:
            raise ConfigError(f"gdas_tau must be two positive temperatures (start, end) and arch_betas two "
                              f"numbers, got {self.gdas_tau}, {self.arch_betas}")

    @classmethod
    def tiny(cls, algorithm: str = "darts", space: str = "nb201", **changes: Any) -> SearchConfig:
        """A CPU-sized search: 4 channels, the shallowest network, 2 epochs of batch 64, no flip (for
        digits), SGAS deciding from the first epoch on."""
        depth = 3 if get_space(space).family == "darts" else 1
        base: dict[str, Any] = {"algorithm": algorithm, "space": space, "channels": 4, "depth": depth, "epochs": 2,
                                "batch_size": 64, "flip": False, "sgas_warmup": 0, "sgas_interval": 1}
        return cls(**{**base, **changes})  # one config, checked once with the changes (NB101: width and vertices)

    @property
    def family(self) -> str:
        """``"nb201"``, ``"darts"`` or ``"nb101"``: the mixed-op supernets that exist."""
        try:
            base = get_space(self.space)
        except SpaceError as err:
            raise ConfigError(str(err)) from None
        if base.family in SEARCH_MACRO:
            return base.family
        raise ConfigError(f"differentiable search needs an NB201, DARTS-like or NB101 space, not {self.space!r}")

    def sdarts_epsilon_at(self, epoch: int) -> float:
        """SDARTS-RS's epsilon in epoch ``epoch`` (0-based), ramped linearly per epoch from
        ``sdarts_epsilon_start`` as SmoothDARTS's ``train_search.py`` does (module doc):
        ``start + (sdarts_epsilon - start) * epoch / epochs``, so the last epoch stays just below the end."""
        start = self.sdarts_epsilon_start
        return start + (self.sdarts_epsilon - start) * epoch / self.epochs

    def gdas_tau_at(self, epoch: int) -> float:
        """GDAS's temperature in epoch ``epoch`` (0-based), annealed linearly from ``gdas_tau[0]`` in the
        first epoch to ``gdas_tau[1]`` in the last (AutoDL's GDAS.py, module doc)."""
        start, end = self.gdas_tau
        return start - (start - end) * epoch / max(self.epochs - 1, 1)

    def alpha_weight_decay(self) -> float:
        """Adam's weight decay on alpha: ``arch_weight_decay``, or none for DrNAS with its KL regulariser, whose
        scale ``arch_weight_decay`` then is (module doc)."""
        return 0.0 if self.drnas_kl_scale() else self.arch_weight_decay

    def drnas_kl_scale(self) -> float:
        """The factor of DrNAS's KL regulariser in the alpha loss (0 unless ``drnas`` with ``drnas_reg="kl"``)."""
        return self.arch_weight_decay if self.algorithm == "drnas" and self.drnas_reg == "kl" else 0.0

    def make_space(self) -> SearchSpace:
        """The searched space (``mask`` removed; NB101: at most ``max_vertices`` vertices): selected architectures
        belong to it."""
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

    def supernet_space(self) -> SearchSpace:
        """``make_space`` plus the ``none`` candidate on every DARTS edge when ``none_candidate`` asks."""
        space = self.make_space()
        add_none = self.none_candidate if self.none_candidate is not None else self.space == "darts"
        if not add_none or not isinstance(space, DartsSpace):
            return space
        edge_ops = {c: [ops if "none" in ops else ("none", *ops) for ops in space.candidate_ops[c]]
                    for c in CELL_TYPES}
        return DartsSpace(n_nodes=space.n_nodes, name=space.name, edge_ops=edge_ops)

    def macro(self) -> dict[str, Any]:
        """Width, depth and batch-norm setting of the search network."""
        macro: dict[str, Any] = dict(SEARCH_MACRO[self.family])
        if self.channels is not None:
            macro["channels"] = self.channels
        if self.depth is not None:
            macro[_DEPTH_KEY[self.family]] = self.depth
        macro["affine"] = self.affine
        return macro

    def build_supernet(self, splits: DatasetSplits) -> Supernet:
        """A freshly initialised mixed-op supernet of this config (global torch RNG)."""
        if self.family == "nb101":
            from nasaudit.weight_sharing.differentiable.nb101_mixed import NB101MixedSupernet

            space = self.make_space()
            assert isinstance(space, NB101Space)
            return NB101MixedSupernet(space, num_classes=splits.num_classes, in_channels=splits.in_channels,
                                      **self.macro())
        supernet = build_supernet(self.supernet_space(), num_classes=splits.num_classes,
                                  in_channels=splits.in_channels, mode="mixed", **self.macro())
        if self.algorithm == "pcdarts":
            from nasaudit.weight_sharing.differentiable.partial import partial_channels

            return partial_channels(supernet, self.pcdarts_k, self.affine)
        return supernet

    def weight_protocol(self) -> TrainProtocol:
        """The weight optimisation of the search as a ``TrainProtocol`` (SGD, per-epoch cosine)."""
        return TrainProtocol(
            name=f"{self.algorithm}_search",
            source=f"{self.algorithm} search (SearchConfig's module doc), as SearchConfig's fields set it",
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, lr_min=self.lr_min, momentum=self.momentum,
            nesterov=bool(self.nesterov), weight_decay=self._weight_decay(), grad_clip=self.grad_clip,
            augmentation=Augmentation(crop_padding=self.crop_padding, flip=self.flip),
            eval_batch_size=self.batch_size)

    def _weight_decay(self) -> float:
        value = self.weight_decay
        return float(value if value is not None else ALGORITHM_DEFAULTS["default"]["weight_decay"])

    def to_dict(self) -> dict[str, Any]:
        """Plain values (tuples as lists), e.g. for a snapshot file; ``from_dict`` reads them back."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchConfig:
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"unknown search option(s) {unknown}; valid: {sorted(names)}")
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)
