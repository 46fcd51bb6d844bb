"""Architecture parameters beside a mixed-op supernet (DARTS, Liu et al., 2019, Sec. 2.1-2.2).

``ArchParameters`` holds one alpha matrix per cell kind (NB201: ``"cell"``, shared by all cells;
DARTS: ``"normal"`` and ``"reduce"``; NB101: ``"ops"`` and ``"inputs"``, one row per vertex, ``nb101_mixed``), one row
per edge and one column per candidate of that edge in
the supernet's own (possibly op-masked) candidate list. Edges with fewer candidates than the widest one
(DARTS-like spaces with per-edge op sets) are padded; padding never gets weight.

A PC-DARTS supernet (``partial.partial_channels``, Xu et al., 2020, Sec. 3.3) adds one beta per (cell kind,
edge), initialised as alpha (the release's ``betas_normal`` / ``betas_reduce``): ``edge_weights`` is its softmax over
each node's incoming edges, and ``forward_arg`` scales every edge's output by it (zero for an edge whose weight row is
all zero: a pruned or removed edge is off, its bypassed channels too).

``Projection`` holds the decisions taken so far (SGAS edge decisions, Li et al., 2020; perturbation-based
selection, selection paper Alg. 2): a decided edge carries its chosen op with weight 1, a pruned edge
weight 0. ``project`` applies them, and optionally one removed op or edge (the perturbation of PT).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.distributions import Dirichlet, kl_divergence
from torch.nn import functional as F

from nasaudit.errors import ConfigError
from nasaudit.spaces.nb201 import NB201_EDGES
from nasaudit.weight_sharing.differentiable.nb101_mixed import NB101MixedSupernet
from nasaudit.weight_sharing.differentiable.partial import ScaledWeights
from nasaudit.weight_sharing.supernet.modules import DartsSupernet, NB201Supernet, SampledWeights, Supernet, darts_edges

Weights = dict[str, torch.Tensor]


class ArchParameters(nn.Module):
    """alpha of every (cell kind, edge, candidate) of a mixed-mode ``supernet`` (module doc).

    Initialised as DARTS does: ``init_scale * N(0, 1)`` drawn from ``generator``; ``init_scale=0``
    gives uniform weights (fixed-alpha, selection paper Sec. 6.3).
    """

    def __init__(self, supernet: Supernet, *, init_scale: float = 1e-3,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        if supernet.mode != "mixed":
            raise ConfigError("architecture parameters need a mixed-mode supernet (mode='mixed')")
        if isinstance(supernet, NB201Supernet):
            self.family = "nb201"
            self.candidates: dict[str, list[tuple[str, ...]]] = {"cell": list(supernet.cell_candidates[0])}
            self.edge_ends: list[tuple[int, int]] = list(NB201_EDGES)
        elif isinstance(supernet, DartsSupernet):
            self.family = "darts"
            self.candidates = {kind: list(ops) for kind, ops in supernet.candidates.items()}
            self.edge_ends = darts_edges(supernet.space.n_nodes)
        elif isinstance(supernet, NB101MixedSupernet):  # rows per vertex, not per edge (``nb101_mixed``)
            self.family = "nb101"
            self.candidates = supernet.alpha_candidates()
            self.edge_ends = []
        else:
            raise ConfigError(f"no architecture parameters for {type(supernet).__name__}; NB201, DARTS and NB101 "
                              "only")
        #: per kind, the (src, dst) of each row (NB101: ``(-1, vertex)``)
        self.ends: dict[str, list[tuple[int, int]]] = (
            supernet.alpha_ends() if isinstance(supernet, NB101MixedSupernet)
            else {kind: list(self.edge_ends) for kind in self.candidates})
        self.kinds: tuple[str, ...] = tuple(self.candidates)
        self.alpha = nn.ParameterDict()
        for kind, per_edge in self.candidates.items():
            width = max(len(ops) for ops in per_edge)
            valid = torch.zeros(len(per_edge), width, dtype=torch.bool)
            for k, ops in enumerate(per_edge):
                valid[k, :len(ops)] = True
            self.register_buffer(f"valid_{kind}", valid)
            noise = torch.randn(len(per_edge), width, generator=generator)
            self.alpha[kind] = nn.Parameter(init_scale * noise * valid)
        #: PC-DARTS edge normalisation: one beta per edge (module doc), drawn after every alpha
        self.beta = nn.ParameterDict()
        if getattr(supernet, "partial_channels", 0):
            for kind, per_edge in self.candidates.items():
                self.beta[kind] = nn.Parameter(init_scale * torch.randn(len(per_edge), generator=generator))

    def valid(self, kind: str) -> torch.Tensor:
        """Which columns of ``alpha[kind]`` are real candidates (not padding)."""
        return getattr(self, f"valid_{kind}")

    def n_edges(self, kind: str) -> int:
        return len(self.candidates[kind])

    @property
    def edge_normalised(self) -> bool:
        """Whether this supernet's edges are normalised by beta (PC-DARTS, module doc)."""
        return len(self.beta) > 0

    def edge_weights(self) -> Weights:
        """PC-DARTS edge normalisation (Xu et al., 2020, Sec. 3.3; the release's ``weights2``): per kind, the
        softmax of beta over the incoming edges of each node, one value per edge in edge order."""
        out = {}
        for kind in self.kinds:
            beta = self.beta[kind]
            nodes = sorted({dst for _, dst in self.edge_ends})
            order = [k for node in nodes for k, (_, dst) in enumerate(self.edge_ends) if dst == node]
            normalised = torch.cat([F.softmax(beta[[k for k, (_, d) in enumerate(self.edge_ends) if d == node]], dim=0)
                                    for node in nodes])
            out[kind] = normalised[torch.tensor(order, device=beta.device).argsort()]
        return out

    def weights(self) -> Weights:
        """Softmax of alpha over each edge's candidates (Liu et al., eq. 2)."""
        return {kind: F.softmax(self.alpha[kind].masked_fill(~self.valid(kind), float("-inf")), dim=-1)
                for kind in self.kinds}

    @torch.no_grad()
    def randomly_smoothed_weights(self, epsilon: float) -> Weights:
        """SDARTS-RS weights of one weight step (Chen & Hsieh, 2020), as
        xiangning-chen/SmoothDARTS@d3dbfed06643d5fd4056edd90891ec9109634ada builds them (sota/cnn/train_search.py
        ``train``: ``softmax_arch_parameters``, then attacker/perturb.py ``Random_alpha`` and
        ``Network.clip`` of sota/cnn/model_search.py): the softmax of alpha plus U(-epsilon, epsilon), drawn
        per (edge, candidate) from the global torch RNG (one tensor per cell kind, in kind order, shared by
        all cells of the kind); then per edge: clamp to [0, 1]; a row that clamps to all zeros puts 1 on its
        largest perturbed entry; divide by the row sum. Padding columns get no noise and stay 0 (the
        reference has no padding)."""
        out = {}
        for kind, soft in self.weights().items():
            valid = self.valid(kind)
            noise = torch.empty_like(soft).uniform_(-epsilon, epsilon)
            perturbed = torch.where(valid, soft + noise, torch.zeros_like(soft))
            top = perturbed.masked_fill(~valid, float("-inf")).argmax(-1)
            clamped = perturbed.clamp(0.0, 1.0)
            dead = clamped.sum(-1) == 0
            clamped[dead, top[dead]] = 1.0
            out[kind] = clamped / clamped.sum(-1, keepdim=True)
        return out

    def gumbel(self, tau: float) -> tuple[Weights, dict[str, torch.Tensor]]:
        """GDAS sampling (Dong & Yang, 2019, eq. 3-5): hard one-hot weights with the straight-through
        gradient of the Gumbel-softmax at temperature ``tau``, and the sampled index of each edge."""
        hard, index = {}, {}
        for kind in self.kinds:
            logits = self.alpha[kind].masked_fill(~self.valid(kind), float("-inf"))
            while True:  # the GDAS code resamples on the (rare) inf / nan draw
                gumbels = -torch.empty_like(logits).exponential_().log()
                probs = F.softmax((F.log_softmax(logits, dim=-1) + gumbels) / tau, dim=-1)
                if torch.isfinite(probs).all():
                    break
            chosen = probs.argmax(-1, keepdim=True)
            one_hot = torch.zeros_like(probs).scatter_(-1, chosen, 1.0)
            hard[kind] = one_hot - probs.detach() + probs
            index[kind] = chosen.squeeze(-1)
        return hard, index

    def concentration(self, kind: str, edge: int) -> torch.Tensor:
        """DrNAS's Dirichlet concentration of ``edge`` (Chen et al., 2021, Sec. 2.2): ``elu(alpha) + 1`` over the
        edge's candidates, positive and monotone in alpha."""
        return F.elu(self.alpha[kind][edge, :len(self.candidates[kind][edge])]) + 1.0

    def dirichlet_sample(self) -> Weights:
        """DrNAS mixing weights of one step: per edge, in kind and edge order, one reparameterised draw
        ``Dirichlet(concentration).rsample()`` from the global torch RNG, as
        xiangning-chen/DrNAS@f2caa4dbdd96c1be29b56cb7ed47a74a184e6ef0 ``utils.process_step_vector`` draws it
        row by row; padding columns stay 0."""
        return {kind: torch.stack([F.pad(Dirichlet(self.concentration(kind, k)).rsample(),
                                         (0, self.alpha[kind].shape[1] - len(ops)))
                                   for k, ops in enumerate(self.candidates[kind])]) for kind in self.kinds}

    def dirichlet_mean(self) -> Weights:
        """The mean of each edge's Dirichlet, the concentration over its sum (padding 0)."""
        out = {}
        for kind in self.kinds:
            conc = (F.elu(self.alpha[kind]) + 1.0) * self.valid(kind)
            out[kind] = conc / conc.sum(-1, keepdim=True)
        return out

    def dirichlet_kl(self) -> torch.Tensor:
        """DrNAS's KL regulariser before its scale (release ``_get_kl_reg``): the sum over kinds and edges of
        KL(Dirichlet(concentration) || Dirichlet(1, ..., 1))."""
        terms = [kl_divergence(Dirichlet(conc), Dirichlet(torch.ones_like(conc)))
                 for kind in self.kinds for conc in (self.concentration(kind, k) for k in range(self.n_edges(kind)))]
        return torch.stack(terms).sum()

    def argmax_one_hot(self) -> tuple[Weights, dict[str, torch.Tensor]]:
        """GDAS inference: the one-hot of each edge's largest alpha, and that index."""
        hard, index = {}, {}
        for kind in self.kinds:
            chosen = self.alpha[kind].detach().masked_fill(~self.valid(kind), float("-inf")).argmax(-1)
            hard[kind] = F.one_hot(chosen, self.alpha[kind].shape[1]).to(self.alpha[kind].dtype)
            index[kind] = chosen
        return hard, index

    def forward_arg(self, weights: Weights, sampled: Mapping[str, Sequence[int] | torch.Tensor] | None = None
                    ) -> Any:
        """The supernet's mixed-mode forward argument: per kind a list of per-edge weight rows (trimmed
        to the edge's candidates); an edge with a ``sampled`` index >= 0 runs only that candidate."""
        rows: dict[str, list[Any]] = {}
        scales = self.edge_weights() if self.edge_normalised else None
        for kind in self.kinds:
            per_edge: list[Any] = []
            if scales is not None:  # PC-DARTS: an edge without weight is off (module doc)
                scale = scales[kind] * (weights[kind] != 0).any(-1)
            for k, ops in enumerate(self.candidates[kind]):
                row = weights[kind][k, :len(ops)]
                index = -1 if sampled is None else int(sampled[kind][k])
                arg: Any = row if index < 0 else SampledWeights(row, index)
                per_edge.append(arg if scales is None else ScaledWeights(arg, scale[k]))
            rows[kind] = per_edge
        return rows["cell"] if self.family == "nb201" else rows

    def snapshot(self) -> dict[str, tuple[tuple[float, ...], ...]]:
        """alpha as plain nested tuples, each edge trimmed to its candidates (per-epoch records)."""
        return {kind: tuple(tuple(float(v) for v in self.alpha[kind][k, :len(ops)].detach().cpu())
                            for k, ops in enumerate(self.candidates[kind])) for kind in self.kinds}


@dataclass
class Projection:
    """Decisions fixed so far (module doc): ``chosen[kind][edge]`` is the candidate index kept on a
    decided edge (-1 while undecided); ``pruned[kind][edge]`` drops the edge from the cell."""

    chosen: dict[str, list[int]]
    pruned: dict[str, list[bool]]

    @classmethod
    def empty(cls, alphas: ArchParameters) -> Projection:
        return cls({k: [-1] * alphas.n_edges(k) for k in alphas.kinds},
                   {k: [False] * alphas.n_edges(k) for k in alphas.kinds})

    def copy(self) -> Projection:
        return Projection({k: list(v) for k, v in self.chosen.items()}, {k: list(v) for k, v in self.pruned.items()})

    def state(self) -> dict[str, Any]:
        return {"chosen": {k: list(v) for k, v in self.chosen.items()},
                "pruned": {k: list(v) for k, v in self.pruned.items()}}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Projection:
        return cls({k: [int(i) for i in v] for k, v in state["chosen"].items()},
                   {k: [bool(b) for b in v] for k, v in state["pruned"].items()})

    def single_paths(self) -> dict[str, list[int]]:
        """Per kind and edge the candidate a decided, kept edge runs alone (-1 elsewhere): with
        ``ArchParameters.forward_arg`` only that candidate is computed (same output as the one-hot row)."""
        return {k: [c if not p else -1 for c, p in zip(self.chosen[k], self.pruned[k], strict=True)]
                for k in self.chosen}

    def project(self, weights: Weights, *, remove_op: tuple[str, int, int] | None = None,
                remove_edge: tuple[str, int] | None = None) -> Weights:
        """``weights`` with decided edges one-hot, pruned edges zero, and optionally candidate
        ``remove_op = (kind, edge, index)`` or edge ``remove_edge = (kind, edge)`` masked out."""
        out = {}
        for kind, w in weights.items():
            keep = torch.ones_like(w)
            fixed = torch.zeros_like(w)
            for k, (choice, pruned) in enumerate(zip(self.chosen[kind], self.pruned[kind], strict=True)):
                if pruned or choice >= 0:
                    keep[k] = 0.0
                if choice >= 0 and not pruned:
                    fixed[k, choice] = 1.0
            if remove_op is not None and remove_op[0] == kind:
                keep[remove_op[1], remove_op[2]] = 0.0
                fixed[remove_op[1], remove_op[2]] = 0.0
            if remove_edge is not None and remove_edge[0] == kind:
                keep[remove_edge[1]] = 0.0
                fixed[remove_edge[1]] = 0.0
            out[kind] = w * keep + fixed
        return out
