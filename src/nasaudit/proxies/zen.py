"""Zen-score (Lin et al., "Zen-NAS", ICCV 2021, Sec. 3), following
idstcv/ZenNAS@d1d617e0352733d39890fb64ea758f9c85b28c1a ``ZeroShotProxy/compute_zen_score.py`` with one repeat
and ``mixup_gamma = 1e-2`` (its default): every ``Conv2d``/``Linear`` weight redrawn from N(0, 1) (biases 0, BN
weight 1 and bias 0), two Gaussian inputs ``x`` and ``x + gamma * x2`` of the batch's shape, and
``log(mean_n sum |f(x) - f(x + gamma x2)|) + sum over BN layers of log sqrt(mean running_var)``, where ``f`` is
the feature map before global average pooling and the running variances are those left by the two forward
passes (training mode, no gradients). The draws come from a generator seeded with the batch's seed, in the
release's order (weights in module order, then ``x``, then ``x2``). Higher = predicted better. Network by
network: the score re-initialises every weight.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasaudit.proxies._base import Batch, Loss, register_proxy
from nasaudit.proxies._stack import Stack

#: the release's default mixing weight of the second input
MIXUP_GAMMA = 1e-2


def gaussian_init(network: nn.Module, generator: torch.Generator) -> None:
    """ZenNAS ``network_weight_gaussian_init``, drawing from ``generator``."""
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.weight.normal_(generator=generator)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)) and module.weight is not None:
                module.weight.fill_(1.0)
                module.bias.zero_()


def pre_pooling(network: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The feature map entering the network's (last) global average pooling."""
    pools = [m for m in network.modules() if isinstance(m, nn.AdaptiveAvgPool2d)]
    if not pools:
        raise ValueError(f"{type(network).__name__} has no global average pooling for Zen-score")
    features: list[torch.Tensor] = []
    handle = pools[-1].register_forward_hook(lambda module, inputs, out: features.append(inputs[0]))
    try:
        network(x)
    finally:
        handle.remove()
    return features[-1]


def zen_score(network: nn.Module, batch: Batch) -> float:
    """Zen-score of one network (module doc); re-initialises its weights."""
    generator = torch.Generator(device=batch.x.device).manual_seed(batch.seed)
    gaussian_init(network, generator)
    network.train()
    with torch.no_grad():
        x = torch.randn(batch.x.shape, generator=generator, device=batch.x.device)
        x2 = torch.randn(batch.x.shape, generator=generator, device=batch.x.device)
        out = pre_pooling(network, x)
        mixed = pre_pooling(network, x + MIXUP_GAMMA * x2)
        score = torch.log(torch.mean(torch.sum(torch.abs(out - mixed), dim=[1, 2, 3])))
        for module in network.modules():
            if isinstance(module, nn.BatchNorm2d) and module.running_var is not None:
                score = score + torch.log(torch.sqrt(torch.mean(module.running_var)))
    return float(score)


@register_proxy("zen", "Zen-NAS (Lin et al. ICCV 2021) Sec. 3: Zen-score, log Gaussian complexity + BN scaling",
                "idstcv/ZenNAS@d1d617e ZeroShotProxy/compute_zen_score.py")
def zen(stack: Stack, batch: Batch, loss: Loss) -> np.ndarray:
    """Zen-score of each network (module doc), on private copies when the stack is fused."""
    networks = [network if not stack.fused else Stack.single(network).module for network in stack.networks]
    return np.array([zen_score(network, batch) for network in networks])
