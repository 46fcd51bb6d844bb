"""M networks scored at once: one plain network, or NB201 networks of any cells fused into one module.

Fusion is ``nasaudit.nn.fused.FusedNetwork`` (HFTA, horizontal fusion): model ``m``'s channels are a block of
every tensor, so one forward and one backward of ``sum_m loss_m`` give each model exactly the outputs and
gradients of its separate network. A proxy then reads its per-layer quantities from ``layers``: each
``Conv2d``/``Linear`` weight of the separate networks (zero-cost-nas ``get_layer_metric_array``), as a
fused tensor whose rows are the models ``owners`` that have that layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass

import torch
from torch import nn

from nasaudit.nn.fused import FusedLinear, FusedNetwork


@dataclass(frozen=True)
class Layer:
    """A ``Conv2d``/``Linear`` weight of the models ``owners``: ``module`` computes it, ``weight`` holds their
    weights model-major (``rows`` gives one row per owner)."""

    module: nn.Module
    weight: torch.Tensor
    owners: tuple[int, ...]

    def rows(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` (the weight or its gradient) as one flat row per owner."""
        return tensor.reshape(len(self.owners), -1)


class Stack:
    """``models`` networks as one module: ``forward(x)`` takes one batch ``(B, C, H, W)`` for all of them and
    returns ``(B, models, classes)``; ``inputs(x)`` is what the module reads (model ``m``'s copy of the batch in
    its channels), ``forward_inputs`` runs the module on it."""

    def __init__(self, module: nn.Module, networks: list[nn.Module], layers: list[Layer]) -> None:
        #: the separate networks (for proxies computed network by network) and whether ``module`` fuses them
        self.module, self.networks, self.layers = module, networks, layers
        self.models, self.fused = len(networks), isinstance(module, FusedNetwork)

    @classmethod
    def single(cls, network: nn.Module, copy: bool = True) -> Stack:
        """One network; a private copy unless ``copy`` is False (proxies may change weights or modes)."""
        own = deepcopy(network) if copy else network
        layers = [Layer(m, m.weight, (0,)) for m in own.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        return cls(own, [own], layers)

    @classmethod
    def fuse(cls, networks: Sequence[nn.Module], input_shape: tuple[int, int, int]) -> Stack:
        """NB201 networks of one macro shape (any cells) fused (``FusedNetwork``; weights copied in)."""
        if len(networks) == 1:
            return cls.single(networks[0])
        fused = FusedNetwork(networks, input_shape)
        params = dict(fused.named_parameters())
        layers = []
        for link in fused.links:
            module_name, _, leaf = link.separate.rpartition(".")
            separate = networks[link.owners[0]].get_submodule(module_name)
            if leaf == "weight" and isinstance(separate, (nn.Conv2d, nn.Linear)) and link.fused in params:
                layers.append(Layer(fused.get_submodule(link.fused.rpartition(".")[0]), params[link.fused],
                                    link.owners))
        return cls(fused, list(networks), layers)

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The module's input for batch ``x``: ``x`` itself, or one copy per model side by side in channels."""
        return x.repeat(1, self.models, 1, 1) if self.fused else x

    def forward_inputs(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, models, classes)`` of the module's input ``inputs``."""
        out = self.module(inputs)
        return out if self.fused else out.unsqueeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, models, classes)`` of batch ``x``."""
        return self.forward_inputs(self.inputs(x))

    def per_model(self, values: list[tuple[Layer, torch.Tensor]]) -> torch.Tensor:
        """Sum per model of per-layer values: each ``(layer, (owners,) tensor)`` adds to its owners."""
        total = torch.zeros(self.models, dtype=torch.float64)
        for layer, value in values:
            total.index_add_(0, torch.tensor(layer.owners), value.detach().to(torch.float64).cpu())
        return total


def output_rows(layer: Layer, out: torch.Tensor) -> torch.Tensor:
    """A layer's output as ``(B, owners, C, positions)``: a convolution's ``(B, owners*C, H, W)``, a fused head's
    ``(B, owners, C)`` or a plain ``Linear``'s ``(B, C)``."""
    if isinstance(layer.module, FusedLinear):
        return out.unsqueeze(-1)
    return out.reshape(out.shape[0], len(layer.owners), -1, out[0, 0].numel() if out.dim() == 4 else 1)
