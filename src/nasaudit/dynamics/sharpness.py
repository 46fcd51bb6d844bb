"""Sharpness: the largest Hessian eigenvalue of the loss at the trained weights (architectures paper
Sec. 4.2.1: "the largest eigenvalue of the Hessian matrix, which indicates the maximum curvature").

Power iteration on Hessian-vector products by double backward (Pearlmutter's trick): ``v <- Hv / ||Hv||``
from a seeded Gaussian start, with the Rayleigh quotient ``v.Hv`` as the estimate, until it changes by
at most ``tol`` relative or ``max_iter`` products are spent. Power iteration converges to the eigenvalue
of largest magnitude, which is the top eigenvalue near a minimum (where the Hessian is dominated by its
positive part). The loss is the mean cross-entropy over the data, in eval mode, over all trainable
parameters (batch-norm ones included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from nasaudit.dynamics.functional import EvalData, eval_mode, logits, torch_seed, weights
from nasaudit.errors import ConfigError
from nasaudit.seeding import SeedLike


@dataclass(frozen=True)
class Sharpness:
    """The estimated top Hessian eigenvalue, the products spent and whether ``tol`` was reached."""

    eigenvalue: float
    iterations: int
    converged: bool


def hessian_vector_product(model: nn.Module, data: EvalData, vector: list[torch.Tensor],
                           batch_size: int = 256) -> list[torch.Tensor]:
    """``H v`` of the mean cross-entropy over ``data`` (eval mode), summed over image batches."""
    params = [p for p in model.parameters() if p.requires_grad]
    out = [torch.zeros_like(p) for p in params]
    with eval_mode(model):
        _, buffers = weights(model)
        names = [k for k, p in model.named_parameters() if p.requires_grad]
        device = params[0].device
        for start in range(0, len(data), batch_size):
            xb, yb = data.x[start:start + batch_size].to(device), data.y[start:start + batch_size].to(device)
            loss = F.cross_entropy(logits(model, dict(zip(names, params, strict=True)), buffers, xb), yb,
                                   reduction="sum") / len(data)
            grads = torch.autograd.grad(loss, params, create_graph=True)
            dot = torch.stack([(g * v).sum() for g, v in zip(grads, vector, strict=True)]).sum()
            hv = torch.autograd.grad(dot, params)
            for acc, h in zip(out, hv, strict=True):
                acc += h.detach()
    return out


def top_hessian_eigenvalue(model: nn.Module, data: EvalData, seed: SeedLike = 0, *, tol: float = 1e-4,
                           max_iter: int = 100, batch_size: int = 256) -> Sharpness:
    """Power iteration for the top Hessian eigenvalue of the loss on ``data`` (module doc)."""
    if tol <= 0 or max_iter < 1:
        raise ConfigError(f"tol must be positive and max_iter at least 1, got {tol} and {max_iter}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters")
    gen = torch.Generator().manual_seed(torch_seed(seed))
    v = [torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device) for p in params]
    v = _normalised(v)
    estimate = math.nan
    for iteration in range(1, max_iter + 1):
        hv = hessian_vector_product(model, data, v, batch_size)
        new = float(sum((h * u).sum() for h, u in zip(hv, v, strict=True)))
        norm = math.sqrt(sum(float((h * h).sum()) for h in hv))
        if norm == 0.0:
            return Sharpness(0.0, iteration, True)
        if math.isfinite(estimate) and abs(new - estimate) <= tol * abs(new):
            return Sharpness(new, iteration, True)
        estimate = new
        v = [h / norm for h in hv]
    return Sharpness(estimate, max_iter, False)


def _normalised(v: list[torch.Tensor]) -> list[torch.Tensor]:
    norm = math.sqrt(sum(float((t * t).sum()) for t in v))
    return [t / norm for t in v]
