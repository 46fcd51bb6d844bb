"""PC-DARTS (``methods/pcdarts.py``, ``differentiable/partial.py``) side by side with the published algorithm
(yuhuixu1993/PC-DARTS@225925a390c26616331d5b83fddc9c34ffbb9887, ``model_search.py``), each rule written out here as
the release writes it: the partial-channel mixed op, edge normalisation and the genotype; then the method in a tiny
comparison, its setting ``k`` and its counted cost."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nasaudit.errors import ConfigError
from nasaudit.nn.cells import Edge
from nasaudit.weight_sharing.differentiable.alpha import ArchParameters, Projection
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.differentiable.partial import PartialMixedOp, ScaledWeights
from nasaudit.weight_sharing.differentiable.search import Snapshot
from nasaudit.weight_sharing.differentiable.selection import select
from nasaudit.weight_sharing.supernet.modules import candidate_op


def release_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """The release's ``channel_shuffle``."""
    n, c, h, w = x.shape
    return torch.transpose(x.view(n, groups, c // groups, h, w), 1, 2).contiguous().view(n, -1, h, w)


def release_mixed(x: torch.Tensor, weights: torch.Tensor, ops: nn.ModuleList, k: int) -> torch.Tensor:
    """The release's ``MixedOp.forward``."""
    dim_2 = x.shape[1]
    xtemp, xtemp2 = x[:, :dim_2 // k], x[:, dim_2 // k:]
    temp1 = sum(w * op(xtemp) for w, op in zip(weights, ops, strict=True))
    if temp1.shape[2] == x.shape[2]:
        ans = torch.cat([temp1, xtemp2], dim=1)
    else:
        ans = torch.cat([temp1, nn.MaxPool2d(2, 2)(xtemp2)], dim=1)
    return release_shuffle(ans, k)


@pytest.mark.parametrize("stride", [1, 2])
def test_partial_mixed_op_is_the_release_formula(stride: int) -> None:
    torch.manual_seed(0)
    names = ["max_pool_3x3", "skip_connect", "sep_conv_3x3", "dil_conv_3x3"]
    op = PartialMixedOp([candidate_op(n, Edge(0, 0, 2, 2, 2, stride), (), False, pool_norm=True) for n in names],
                        4, stride).eval()
    x, w = torch.randn(3, 8, 6, 6), F.softmax(torch.randn(4), 0)
    expected = release_mixed(x, w, op.candidates, 4)
    assert torch.allclose(op(x, w), expected, atol=1e-6)
    assert torch.allclose(op(x, ScaledWeights(w, torch.tensor(0.3))), 0.3 * expected, atol=1e-6)
    # the shuffle interleaves the 4 groups of 2: (g, c) -> (c, g)
    assert torch.equal(release_shuffle(torch.arange(8.0).view(1, 8, 1, 1), 4).flatten(),
                       torch.tensor([0.0, 2, 4, 6, 1, 3, 5, 7]))


def release_weights2(betas: torch.Tensor, steps: int) -> torch.Tensor:
    """The release's ``weights2`` of a DARTS cell (``Network.forward``)."""
    n, start = 3, 2
    weights2 = F.softmax(betas[0:2], dim=-1)
    for _ in range(steps - 1):
        end = start + n
        weights2 = torch.cat([weights2, F.softmax(betas[start:end], dim=-1)], dim=0)
        start, n = end, n + 1
    return weights2


@pytest.fixture(scope="module")
def micro_splits():
    """80 real digits: 64 train, 16 validation (as the differentiable tests' fixture)."""
    from nasaudit.data.formats import read_embedded
    from nasaudit.data.splits import make_splits

    raw = read_embedded()
    keep = np.arange(80)
    return make_splits("embedded", raw.train_x[keep], raw.train_y[keep], raw.test_x[:16], raw.test_y[:16],
                       raw.num_classes, val_fraction=0.2, seed=0)


@pytest.fixture
def darts_pc(micro_splits):
    config = SearchConfig.tiny("pcdarts", "darts", mask=("avg_pool_3x3", "dil_conv_5x5", "sep_conv_5x5"))
    torch.manual_seed(0)
    supernet = config.build_supernet(micro_splits)
    return config, supernet, ArchParameters(supernet, generator=torch.Generator().manual_seed(0))


def test_edge_normalisation_is_the_release_weighting(darts_pc) -> None:
    _, _, alphas = darts_pc
    with torch.no_grad():
        for kind in alphas.kinds:
            alphas.beta[kind].copy_(torch.linspace(-1.0, 2.0, alphas.n_edges(kind)) ** 2)
    normalised = alphas.edge_weights()
    for kind in alphas.kinds:
        assert torch.allclose(normalised[kind], release_weights2(alphas.beta[kind].detach(), 4))
    # every edge's output is scaled by it; an edge left without weight (pruned) is off
    projection = Projection.empty(alphas)
    projection.pruned["normal"][3] = True
    arg = alphas.forward_arg(projection.project(alphas.weights()))
    assert all(isinstance(a, ScaledWeights) for a in arg["normal"])
    scales = torch.stack([a.scale for a in arg["normal"]])
    assert scales[3] == 0 and torch.allclose(scales[torch.arange(14) != 3], normalised["normal"][torch.arange(14) != 3])


def release_parse(weights: np.ndarray, weights2: np.ndarray, ops: list[str], steps: int) -> list[tuple[str, int]]:
    """The release's ``genotype._parse`` (``PRIMITIVES`` replaced by the edge's candidates)."""
    none = ops.index("none")
    gene, n, start = [], 2, 0
    for i in range(steps):
        end = start + n
        W, W2 = weights[start:end].copy(), weights2[start:end].copy()
        for j in range(n):
            W[j, :] = W[j, :] * W2[j]
        edges = sorted(range(i + 2), key=lambda x: -max(W[x][k] for k in range(len(W[x])) if k != none))[:2]
        for j in edges:
            k_best = None
            for k in range(len(W[j])):
                if k != none and (k_best is None or W[j][k] > W[j][k_best]):
                    k_best = k
            gene.append((ops[k_best], j))
        start, n = end, n + 1
    return gene


def test_the_final_cell_is_the_release_genotype(darts_pc, micro_splits) -> None:
    config, supernet, alphas = darts_pc
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for kind in alphas.kinds:
            alphas.alpha[kind].copy_(torch.randn(alphas.alpha[kind].shape, generator=gen))
            alphas.beta[kind].copy_(2.0 * torch.randn(alphas.n_edges(kind), generator=gen))
    snapshot = Snapshot(config, 0, 1, micro_splits.name, supernet.state_dict(), alphas.state_dict(),
                        Projection.empty(alphas))
    arch = select(snapshot, "alpha", seed=0, splits=micro_splits).arch
    ops = list(alphas.candidates["normal"][0])
    for kind in alphas.kinds:
        expected = release_parse(alphas.weights()[kind].detach().numpy(),
                                 release_weights2(alphas.beta[kind].detach(), 4).numpy(), ops, 4)
        assert sorted(arch.cell(kind).edges) == sorted(expected)
    # beta decides: DARTS's rule on alpha alone picks another topology here
    flat = {kind: release_parse(alphas.weights()[kind].detach().numpy(), np.ones(14), ops, 4) for kind in alphas.kinds}
    assert any(sorted(arch.cell(kind).edges) != sorted(flat[kind]) for kind in alphas.kinds)


def test_pcdarts_runs_in_the_comparison_and_costs_less_than_darts(runs_in_comparison) -> None:
    from nasaudit.weight_sharing.base import get_method
    from nasaudit.weight_sharing.setup import WSSetup

    runs_in_comparison("pcdarts")
    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), epochs=1)
    assert get_method("pcdarts").search_config(setup).pcdarts_k == 4
    assert get_method("pcdarts").cost(setup) < get_method("darts_alpha").cost(setup)
    assert get_method("pcdarts", {"k": 2}).cost(setup) > get_method("pcdarts").cost(setup)
    with pytest.raises(ConfigError, match="k=3 must divide"):
        get_method("pcdarts", {"k": 3}).search_config(setup)
    with pytest.raises(ConfigError, match="k"):
        get_method("pcdarts", {"k": 0})
