"""SynFlow (Tanaka et al. NeurIPS 2020) as a zero-cost proxy (Abdelfattah et al. ICLR 2021,
Sec. 3), following SamsungLabs/zero-cost-nas@a43bfbc90c1a02a81fb4397a5e096759e93fbe50
``foresight/pruners/measures/synflow.py`` (measure ``synflow``, ``bn=False``): BatchNorm layers do nothing,
every parameter and buffer is replaced by its absolute value, the network runs in float64 on one all-ones
input, and the score is ``sum |W * d(sum of outputs)/dW|`` over the ``Conv2d``/``Linear`` weights. No data
and no loss. Higher = predicted better."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasaudit.proxies._base import Batch, Loss, register_proxy
from nasaudit.proxies._passes import gradient
from nasaudit.proxies._stack import Stack


def _pass_through(x: torch.Tensor) -> torch.Tensor:
    return x


@register_proxy("synflow", "SynFlow (Tanaka et al. 2020), zero-cost proxies Sec. 3: sum |W * dR/dW|, "
                "|W|, no BN, ones input", "SamsungLabs/zero-cost-nas@a43bfbc foresight/pruners/measures/synflow.py")
def synflow(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """The synaptic-flow saliency summed over the weights (module doc); changes the stack's weights."""
    for module in stack.module.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            setattr(module, "forward", _pass_through)  # noqa: B010 - predictive.copynet's no-op BN
    with torch.no_grad():
        for tensor in stack.module.state_dict().values():
            tensor.abs_()
    stack.module.double()
    stack.module.zero_grad()
    ones = torch.ones(1, *batch.x.shape[1:], dtype=torch.float64, device=batch.x.device)
    stack.forward(ones).sum().backward()
    return stack.per_model([(layer, layer.rows(layer.weight * gradient(layer)).abs().sum(1))
                            for layer in stack.layers]).numpy()
