"""Turn any architecture of a registered space into its published PyTorch network, and measure it.

``build_network`` dispatches on the architecture type: NB201 cells go into the NB201 macro network,
DARTS genotypes (any of S1-S4 too) into the DARTS CIFAR network or, with ``variant="imagenet"``, the
mobile-setting ImageNet network, NB101 cells into the NB101 network.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from nasaudit.errors import ConfigError
from nasaudit.limits import NETWORK_OPTION_LIMITS, check_at_most
from nasaudit.nn.cells import DartsCellModule, NB201CellModule, primitive_edges
from nasaudit.nn.darts_net import DartsNetworkCIFAR, DartsNetworkImageNet
from nasaudit.nn.nb101_net import NB101Network
from nasaudit.nn.nb201_net import NB201Network
from nasaudit.spaces import get_space
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import DartsGenotype
from nasaudit.spaces.nb101 import NB101Arch
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch


def _check_kwargs(family: str, kwargs: dict[str, Any], *targets: Any) -> None:
    allowed = {name for target in targets for name in inspect.signature(target).parameters}
    allowed -= {"self", "cell_factory", "matrix", "ops", "num_classes", "in_channels"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ConfigError(f"unknown {family} network option(s) {unknown}; valid: {sorted(allowed)}")
    for name, value in kwargs.items():  # a width of 1e8 would ask for ~10^16 bytes: refuse before building
        if name in NETWORK_OPTION_LIMITS:
            low, high = NETWORK_OPTION_LIMITS[name]
            whole = (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
                     and value == int(value))
            if not whole:
                raise ConfigError(f"{family} network option {name} must be a whole number, got {value!r}")
            if value < low:
                raise ConfigError(f"{family} network option {name} must be at least {low}, got {value!r}")
            check_at_most(f"{family} network option {name}", value, high)
            kwargs[name] = int(value)


def _nb201(arch: NB201Arch, num_classes: int, in_channels: int, **kwargs: Any) -> nn.Module:
    _check_kwargs("nb201", kwargs, NB201Network.__init__)
    factory = primitive_edges(arch.ops)
    return NB201Network(lambda c: NB201CellModule(NB201_EDGES, 4, c, factory), num_classes=num_classes,
                        in_channels=in_channels, **kwargs)


def _darts(arch: DartsGenotype, num_classes: int, in_channels: int, variant: str = "cifar",
           **kwargs: Any) -> nn.Module:
    networks = {"cifar": DartsNetworkCIFAR, "imagenet": DartsNetworkImageNet}
    if variant not in networks:
        raise ConfigError(f"DARTS network variant must be one of {sorted(networks)}, got {variant!r}")
    _check_kwargs("darts", kwargs, networks[variant])

    def cell(cell_type: str, c_pp: int, c_p: int, c: int, reduction: bool,
             reduction_prev: bool) -> DartsCellModule:
        genes = arch.cell(cell_type)
        return DartsCellModule([(src, dst) for src, dst, _ in genes.triples()], genes.concat, genes.n_nodes,
                               c_pp, c_p, c, reduction, reduction_prev,
                               primitive_edges([op for op, _ in genes.edges]))

    return networks[variant](cell, num_classes=num_classes, in_channels=in_channels, **kwargs)


def _nb101(arch: NB101Arch, num_classes: int, in_channels: int, **kwargs: Any) -> nn.Module:
    _check_kwargs("nb101", kwargs, NB101Network.__init__)
    return NB101Network(arch.matrix, arch.ops, num_classes=num_classes, in_channels=in_channels, **kwargs)


_BUILDERS: dict[str, Callable[..., nn.Module]] = {"nb201": _nb201, "darts": _darts, "nb101": _nb101}


def build_network(arch: Any, space: SearchSpace | str, *, num_classes: int, in_channels: int = 3,
                  **macro_kwargs: Any) -> nn.Module:
    """The stand-alone network of ``arch`` as its benchmark/paper builds it (module doc; NB201 Sec. 2.1,
    DARTS Sec. 3.3, NB101 Sec. 2.1). ``arch`` may be a string; ``macro_kwargs`` set width, depth, etc.
    """
    the_space = get_space(space) if isinstance(space, str) else space
    if the_space.family not in _BUILDERS:
        raise ConfigError(f"build_network builds {', '.join(_BUILDERS)} image classifiers, not space "
                          f"{the_space.name!r} (family {the_space.family!r}); RNN cells are language models "
                          "(nasaudit.nn.rnn_cell)")
    value = the_space.coerce(arch)
    if num_classes < 1 or in_channels < 1:
        raise ConfigError(f"num_classes and in_channels must be positive, got {num_classes}, {in_channels}")
    return _BUILDERS[the_space.family](value, num_classes, in_channels, **macro_kwargs)


def count_parameters(model: nn.Module, include_auxiliary: bool = False) -> int:
    """Number of parameters as the papers count them: the auxiliary head is excluded by default.

    DARTS's ``utils.count_parameters_in_MB`` skips every parameter whose name contains "auxiliary", and
    its Table 1 (3.3M for DARTS V2) is that count; NB201 and NB101 networks have no auxiliary head.
    """
    return sum(p.numel() for name, p in model.named_parameters()
               if include_auxiliary or "auxiliary" not in name)


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-adds of one forward pass (what NAS papers call FLOPs, e.g. DARTS Table 2 "mult-adds").

    Counted with ``torch.utils.flop_counter`` (convolutions and matrix products, halved from its
    2-per-multiply-add convention) in eval mode, so the auxiliary head is not counted. ``input_shape``
    is ``(C, H, W)`` for one image or ``(N, C, H, W)``.
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3:
        shape = (1, *shape)
    if len(shape) != 4 or min(shape) < 1:
        raise ConfigError(f"input_shape must be (C, H, W) or (N, C, H, W) with positive sizes, got {input_shape}")
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(torch.zeros(shape, device=device))
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2
