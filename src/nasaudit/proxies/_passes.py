"""The forward/backward passes the proxies share: the loss of every model at once, and weight gradients."""

from __future__ import annotations

import torch

from nasaudit.proxies._base import Batch, Loss
from nasaudit.proxies._stack import Layer, Stack


def total_loss(stack: Stack, batch: Batch, loss: Loss, logits: torch.Tensor | None = None) -> torch.Tensor:
    """``sum_m loss(logits_m, y)``: its gradient is each model's own loss gradient (the models share nothing)."""
    out = stack.forward(batch.x) if logits is None else logits
    return torch.stack([loss(out[:, m], batch.y) for m in range(stack.models)]).sum()


def loss_gradients(stack: Stack, batch: Batch, loss: Loss) -> None:
    """One training-mode forward and backward of the loss (zero-cost-nas's measures: BN on batch statistics,
    gradients zeroed first, one split of the data)."""
    stack.module.train()
    stack.module.zero_grad()
    total_loss(stack, batch, loss).backward()


def gradient(layer: Layer) -> torch.Tensor:
    """A layer's weight gradient, zeros where it got none (zero-cost-nas: a layer without a gradient scores 0)."""
    grad = layer.weight.grad
    return torch.zeros_like(layer.weight) if grad is None else grad
