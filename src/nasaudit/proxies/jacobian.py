"""Proxies of the input Jacobian and the ReLU codes of one batch: jacob_cov, EPE-NAS and NWOT.

* ``jacov``: Mellor et al., "Neural Architecture Search without Training" (arXiv v1, Sec. 3) as implemented in
  SamsungLabs/zero-cost-nas@a43bfbc90c1a02a81fb4397a5e096759e93fbe50 ``foresight/pruners/measures/jacob_cov.py``:
  the gradient of the summed outputs with respect to each input image (training mode), flattened; ``C`` the
  correlation matrix of these B rows and ``score = -sum_i log(v_i + k) + 1/(v_i + k)`` over its eigenvalues
  ``v_i`` (k = 1e-5). The release takes ``np.linalg.eig``; the matrix is symmetric, so ``eigvalsh`` (the same
  values, real) is used. A Jacobian row that is constant makes the correlation undefined: NaN, as the release.
* ``epe_nas``: Lopes et al., "EPE-NAS" (ICANN 2021), Sec. 3,
  VascoLopes/EPE-NAS@22bd3410a7fc901661daf923c93b40de1b5de2c3 ``search.py`` (``eval_score_perclass`` as the
  release calls it, ``n_classes=10``): the same Jacobians, grouped by label; per class
  ``s_c = sum log(|corr| + k)`` over its correlation matrix, ``score = sum_c |s_c|``.
* ``nwot``: Mellor et al. ICML 2021, Sec. 3,
  BayesWatch/nas-without-training@b3a82a6642564df115f989ff940ec6b8ef9ca9d3 ``score_networks.py`` and ``scores.py``
  (``hook_logdet``): the binary code ``c`` of the input (``> 0``) per image of every module whose class name
  contains "ReLU" (the release's test, so NB201's ``ReLUConvBN`` counts beside its inner ``ReLU``, as in the
  authors' runs) that the backward pass reaches, ``K_H = sum c c^T + (1-c)(1-c)^T`` and
  ``score = log|det K_H|`` (``slogdet``), in training mode.

Higher = predicted better for all three.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasaudit.proxies._base import Batch, Loss, register_proxy
from nasaudit.proxies._stack import Stack

#: the eigenvalue offset of jacob_cov (zero-cost-nas ``eval_score``)
JACOV_K = 1e-5


def input_jacobians(stack: Stack, batch: Batch) -> torch.Tensor:
    """``d(sum of each model's outputs)/dx`` per image: ``(models, B, C*H*W)`` (training mode)."""
    stack.module.train()
    stack.module.zero_grad()
    inputs = stack.inputs(batch.x).detach().requires_grad_(True)
    out = stack.forward_inputs(inputs).sum()
    if out.requires_grad:
        out.backward()
    grad = torch.zeros_like(inputs) if inputs.grad is None else inputs.grad.detach()  # no input-output path: 0
    return grad.reshape(grad.shape[0], stack.models, -1).transpose(0, 1)


def jacobian_score(jacobian: np.ndarray) -> float:
    """zero-cost-nas ``eval_score`` of one model's ``(B, D)`` Jacobian (module doc)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        corrs = np.corrcoef(jacobian)
    if not np.all(np.isfinite(corrs)):
        return float("nan")
    values = np.linalg.eigvalsh(corrs)
    return float(-np.sum(np.log(values + JACOV_K) + 1.0 / (values + JACOV_K)))


@register_proxy("jacov", "NWOT arXiv v1 Sec. 3 (Jacobian covariance), zero-cost proxies Sec. 3",
                "SamsungLabs/zero-cost-nas@a43bfbc foresight/pruners/measures/jacob_cov.py")
def jacov(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """The Jacobian-covariance score of each model (module doc); the loss is not used."""
    jacobians = input_jacobians(stack, batch).to(torch.float64).cpu().numpy()
    return np.array([jacobian_score(jacobians[m]) for m in range(stack.models)])


def per_class_score(jacobian: np.ndarray, labels: np.ndarray) -> float:
    """EPE-NAS's ``eval_score_perclass`` of one model's ``(B, D)`` Jacobian (module doc; NaN propagates)."""
    total = 0.0
    for label in dict.fromkeys(labels.tolist()):  # classes in order of first appearance, as the release
        with np.errstate(divide="ignore", invalid="ignore"):
            corrs = np.corrcoef(jacobian[labels == label])
        total += float(np.absolute(np.sum(np.log(np.abs(corrs) + JACOV_K))))
    return total


@register_proxy("epe_nas", "EPE-NAS (Lopes et al. ICANN 2021) Sec. 3: per-class Jacobian correlation",
                "VascoLopes/EPE-NAS@22bd341 search.py eval_score_perclass")
def epe_nas(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """EPE-NAS score of each model (module doc); the loss is not used."""
    jacobians = input_jacobians(stack, batch).to(torch.float64).cpu().numpy()
    labels = batch.y.cpu().numpy()
    return np.array([per_class_score(jacobians[m], labels) for m in range(stack.models)])


def relu_kernel(network: nn.Module, batch: Batch) -> np.ndarray:
    """NWOT's ``K_H`` of one network: the binary codes of the batch at the "ReLU" modules the backward pass
    reaches (module doc)."""
    codes: list[tuple[torch.Tensor, torch.Tensor]] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        codes.append(((inputs[0] > 0).flatten(1).to(torch.float32), out))

    handles = [m.register_forward_hook(hook) for m in network.modules() if "ReLU" in type(m).__name__]
    network.train()
    try:
        logits = network(batch.x)
    finally:
        for handle in handles:
            handle.remove()
    codes = [(code, out) for code, out in codes if out.requires_grad]  # a ReLU of zeros (``none`` edges only)
    reached = torch.autograd.grad(logits.sum(), [out for _, out in codes], allow_unused=True)
    kernel = np.zeros((batch.x.shape[0], batch.x.shape[0]))
    for (code, _), grad in zip(codes, reached, strict=True):
        if grad is not None:
            kernel += (code @ code.t()).cpu().numpy() + ((1.0 - code) @ (1.0 - code).t()).cpu().numpy()
    return kernel


@register_proxy("nwot", "NWOT (Mellor et al. ICML 2021) Sec. 3: log|K_H| of the binary ReLU codes",
                "BayesWatch/nas-without-training@b3a82a6 score_networks.py, scores.py hooklogdet")
def nwot(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """``log|det K_H|`` per network (module doc), network by network (a forward pass each; the codes of a
    fused cell's grouped ops would need per-group bookkeeping for no gain)."""
    return np.array([float(np.linalg.slogdet(relu_kernel(network, batch))[1]) for network in stack.networks])
