"""Gradient-based pruning-at-init saliencies summed over the network (zero-cost proxies paper, Abdelfattah et
al. ICLR 2021, Sec. 3; SamsungLabs/zero-cost-nas@a43bfbc90c1a02a81fb4397a5e096759e93fbe50,
``foresight/pruners/measures/``): each is a per-weight (or per-layer) quantity of the ``Conv2d``/``Linear``
weights after one training-mode forward and backward of the loss on one batch, summed (``sum_arr``).
Higher = predicted better, as the release ranks them (GraSP carries its minus sign for that)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from nasaudit.proxies._base import Batch, Loss, register_proxy
from nasaudit.proxies._passes import gradient, loss_gradients, total_loss
from nasaudit.proxies._stack import Stack, output_rows

_RELEASE = "SamsungLabs/zero-cost-nas@a43bfbc foresight/pruners/measures/{}.py"


@register_proxy("grad_norm", "zero-cost proxies Sec. 3 (grad_norm): sum over layers of ||dL/dW||_2",
                _RELEASE.format("grad_norm"))
def grad_norm(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """Sum over ``Conv2d``/``Linear`` layers of the Euclidean norm of the weight gradient."""
    loss_gradients(stack, batch, loss)
    return stack.per_model([(layer, layer.rows(gradient(layer)).norm(dim=1)) for layer in stack.layers]).numpy()


@register_proxy("snip", "SNIP (Lee et al. ICLR 2019) as zero-cost proxies Sec. 3: sum |W * dL/dW|",
                _RELEASE.format("snip"))
def snip(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """Sum of ``|dL/dmask|`` over the weights, with ``dL/dmask = W * dL/dW`` at a mask of ones."""
    loss_gradients(stack, batch, loss)
    return stack.per_model([(layer, layer.rows(layer.weight * gradient(layer)).abs().sum(1))
                            for layer in stack.layers]).numpy()


@register_proxy("plain", "zero-cost proxies Sec. 3 (plain): sum W * dL/dW", _RELEASE.format("plain"))
def plain(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """Sum of ``W * dL/dW`` (signed) over the weights."""
    loss_gradients(stack, batch, loss)
    return stack.per_model([(layer, layer.rows(layer.weight * gradient(layer)).sum(1))
                            for layer in stack.layers]).numpy()


@register_proxy("grasp", "GraSP (Wang et al. ICLR 2020) as zero-cost proxies Sec. 3: sum -W * Hg",
                _RELEASE.format("grasp"))
def grasp(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """Sum of ``-W * (H g)`` with ``g`` the loss gradient (held constant) and ``H`` the Hessian, as
    ``z = sum(g . grad_f)``, ``z.backward()`` (T = 1, one iteration). Computed network by network: the
    second-order pass does not go through fused kernels."""
    if stack.fused:
        return np.concatenate([grasp(Stack.single(network), batch, loss) for network in stack.networks])
    stack.module.train()
    stack.module.zero_grad()
    weights = [layer.weight for layer in stack.layers]
    first = torch.autograd.grad(total_loss(stack, batch, loss), weights, allow_unused=True)
    second = torch.autograd.grad(total_loss(stack, batch, loss), weights, create_graph=True, allow_unused=True)
    z = sum(((g.detach() * f).sum() for g, f in zip(first, second, strict=True)
             if g is not None and f is not None), torch.zeros(()))
    if z.requires_grad:
        z.backward()
    return stack.per_model([(layer, layer.rows(-layer.weight.detach() * gradient(layer)).sum(1))
                            for layer in stack.layers]).numpy()


@register_proxy("fisher", "Fisher pruning (Theis et al. 2018; Turner et al. ICLR 2020) as zero-cost proxies "
                "Sec. 3: per channel 0.5 mean_n (sum_hw a * dL/da)^2", _RELEASE.format("fisher"))
def fisher(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """Per output channel of each ``Conv2d``/``Linear``: ``0.5 * mean over the batch of (sum over positions of
    activation * its gradient)^2``, spread over the channel's weights as the release does (so each channel
    counts ``in_channels * k * k`` times) and summed; a layer whose output gets no gradient scores 0."""
    products: dict[int, torch.Tensor] = {}

    def keep(index: int) -> Callable[[nn.Module, object, torch.Tensor], None]:
        def hook(module: nn.Module, inputs: object, out: torch.Tensor) -> None:
            if out.requires_grad:
                out.register_hook(lambda grad: products.__setitem__(index, out.detach() * grad))
        return hook

    handles = [layer.module.register_forward_hook(keep(i)) for i, layer in enumerate(stack.layers)]
    try:
        loss_gradients(stack, batch, loss)
    finally:
        for handle in handles:
            handle.remove()
    values = []
    for index, product in sorted(products.items()):
        layer = stack.layers[index]
        per_channel = output_rows(layer, product).sum(-1).pow(2).mean(0).mul(0.5)  # (owners, C)
        fan = layer.rows(layer.weight).shape[1] // per_channel.shape[1]
        values.append((layer, per_channel.abs().sum(1) * fan))
    return stack.per_model(values).numpy()
