"""DrNAS's alpha step against its authors' code on a tiny seeded case
(xiangning-chen/DrNAS@f2caa4dbdd96c1be29b56cb7ed47a74a184e6ef0: ``utils.process_step_matrix`` with ``dirichlet``,
``201-space/search_model.py`` ``_loss`` / ``_get_kl_reg``, ``architect.py``): the same beta, weights, batch and
seeded draw give the same alpha gradient, regulariser included, and the final cell is the largest concentration."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.distributions import Dirichlet, kl_divergence
from torch.nn import functional as F

from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError
from nasaudit.train.batches import DeviceData
from nasaudit.weight_sharing.differentiable.alpha import ArchParameters, Projection
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.differentiable.search import SearchBatch, search, search_loop
from nasaudit.weight_sharing.differentiable.selection import select


def _reference_alpha_grad(supernet: nn.Module, beta: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                          reg_type: str, reg_scale: float) -> torch.Tensor:
    """The release's first-order alpha gradient, written out after it: one ``Dirichlet(elu(beta) + 1).rsample()``
    per row (``process_step_matrix``), cross entropy of the network on those weights, plus with ``kl``
    ``reg_scale * sum(kl_divergence(Dirichlet(elu(beta) + 1), Dirichlet(ones)))`` over the whole matrix."""
    beta = beta.detach().clone().requires_grad_(True)
    weights = torch.stack([Dirichlet(F.elu(line) + 1).rsample() for line in beta])
    loss = F.cross_entropy(supernet(x, list(weights)), y)
    if reg_type == "kl":
        anchor = Dirichlet(torch.ones_like(beta))
        loss = loss + reg_scale * torch.sum(kl_divergence(Dirichlet(F.elu(beta) + 1), anchor))
    (grad,) = torch.autograd.grad(loss, beta)
    return grad


@pytest.mark.parametrize(("reg_type", "reg_scale"), [("kl", 1e-3), ("kl", 1.0), ("l2", 1e-3)])
def test_alpha_gradient_matches_the_reference(reg_type: str, reg_scale: float, search_splits: DatasetSplits) -> None:
    config = SearchConfig.tiny("drnas", drnas_reg=reg_type, arch_weight_decay=reg_scale)
    torch.manual_seed(0)
    supernet = config.build_supernet(search_splits)
    alphas = ArchParameters(supernet, init_scale=0.5, generator=torch.Generator().manual_seed(1))
    beta = alphas.alpha["cell"].detach().clone()
    data = DeviceData(search_splits, torch.device("cpu"))
    _, step = search_loop(config, supernet, alphas, data, Projection.empty(alphas))
    x, y = data.fixed_batches("val", 16)[0]
    supernet.train()
    torch.manual_seed(7)
    step._alpha_step(SearchBatch(x, y, x, y), nn.CrossEntropyLoss())
    ours = alphas.alpha["cell"].grad
    assert ours is not None
    torch.manual_seed(7)
    reference = _reference_alpha_grad(supernet, beta, x, y, reg_type, reg_scale)
    torch.testing.assert_close(ours, reference)
    # architect.py: Adam's weight decay is reg_scale under l2 and 0 under kl
    assert step.architect is not None
    assert step.architect.optimizer.param_groups[0]["weight_decay"] == (reg_scale if reg_type == "l2" else 0.0)


def test_a_draw_is_the_references_row_by_row_sample(search_splits: DatasetSplits) -> None:
    alphas = ArchParameters(SearchConfig.tiny("drnas").build_supernet(search_splits), init_scale=0.5,
                            generator=torch.Generator().manual_seed(2))
    torch.manual_seed(3)
    ours = alphas.dirichlet_sample()["cell"]
    torch.manual_seed(3)
    reference = torch.stack([Dirichlet(F.elu(line) + 1).rsample() for line in alphas.alpha["cell"]])
    torch.testing.assert_close(ours, reference)
    torch.testing.assert_close(ours.sum(-1), torch.ones(6))
    assert not torch.equal(ours, alphas.dirichlet_sample()["cell"])  # a fresh draw every call


def test_final_cell_is_the_largest_concentration(search_splits: DatasetSplits) -> None:
    run = search(SearchConfig.tiny("drnas", epochs=1), search_splits, seed=0)
    concentration = F.elu(run.alphas.alpha["cell"].detach()) + 1
    chosen = select(run, "alpha", seed=0).arch
    expected = [run.alphas.candidates["cell"][k][int(i)] for k, i in enumerate(concentration.argmax(1))]
    assert list(chosen.ops) == expected


def test_drnas_settings_follow_the_release() -> None:
    config = SearchConfig(algorithm="drnas", space="darts")
    assert (config.lr, config.lr_min, config.momentum, config.weight_decay, config.grad_clip) == (
        0.025, 0.001, 0.9, 3e-4, 5.0)
    assert (config.arch_lr, config.arch_betas, config.alpha_init, config.drnas_reg) == (3e-4, (0.5, 0.999), 1e-3, "l2")
    assert config.none_candidate is False  # DARTS-space PRIMITIVES without none
    assert SearchConfig(algorithm="darts", space="darts").alpha_weight_decay() == 1e-3
    assert SearchConfig(algorithm="darts", drnas_reg="kl").drnas_kl_scale() == 0.0
    with pytest.raises(ConfigError):
        SearchConfig(algorithm="drnas", drnas_reg="l1")
