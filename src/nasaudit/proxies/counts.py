"""Proxies that read the network alone: parameter count, FLOPs and the weights' L2 norm. Higher = predicted
better. ``params`` and ``flops`` are the size baselines that zero-cost predictors are compared with (White et
al., "How Powerful are Performance Predictors in NAS?", NeurIPS 2021, Sec. 3)."""

from __future__ import annotations

import numpy as np

from nasaudit.nn import count_flops, count_parameters
from nasaudit.proxies._base import Batch, Loss, register_proxy
from nasaudit.proxies._stack import Stack


@register_proxy("params", "White et al. NeurIPS 2021 Sec. 3 size baseline: number of parameters",
                "SamsungLabs/zero-cost-nas@a43bfbc foresight/pruners/p_utils.py count_parameters")
def params(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """Number of parameters of each network (``count_parameters``)."""
    return np.array([float(count_parameters(network)) for network in stack.networks])


@register_proxy("flops", "White et al. NeurIPS 2021 Sec. 3 size baseline: FLOPs (multiply-adds) of one image",
                "nasaudit.nn.count_flops (torch flop counter, multiply-adds as DARTS Table 2 counts them)")
def flops(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """Multiply-adds of one image's forward pass (``count_flops``)."""
    return np.array([float(count_flops(network, tuple(batch.x.shape[1:]))) for network in stack.networks])


@register_proxy("l2_norm", "zero-cost proxies Sec. 3 (l2_norm): sum over layers of ||W||_2",
                "SamsungLabs/zero-cost-nas@a43bfbc foresight/pruners/measures/l2_norm.py")
def l2_norm(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """Sum over ``Conv2d``/``Linear`` layers of the Euclidean norm of the weight (at initialisation)."""
    return stack.per_model([(layer, layer.rows(layer.weight.detach()).norm(dim=1)) for layer in stack.layers]).numpy()
