"""One registry of the primitive operations of every search space, built by ``get_op``.

* NB201 (NB201 paper Sec. 2.1; redundancy paper App. D): ``none``, ``skip_connect``, ``nor_conv_1x1``,
  ``nor_conv_3x3`` (ReLU-Conv-BN), ``avg_pool_3x3``.
* DARTS (Liu et al., 2019, Sec. 3.1; selection paper App. A.2): separable and dilated convolutions,
  3x3 max/avg pooling, ``skip_connect`` (a factorised reduction at stride 2), ``none``; the ``noise``
  op of space S4 (selection paper App. A.2: N(0, 1) regardless of the input) and the
  ``linear_transformer`` (single-path paper Sec. 4.2: a linear 1x1 convolution).
* NB101 (search-phase paper Sec. 3.2 / App. B, after Ying et al., 2019): ``conv3x3-bn-relu``,
  ``conv1x1-bn-relu`` (also the channel projection), ``maxpool3x3``.

Every op maps ``c_in`` to ``c_out`` channels at ``stride``; where the published op keeps the channel
count (pools), a ReLU-Conv-BN 1x1 projection is put in front when ``c_in != c_out`` (NB201's POOLING).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from nasaudit.errors import ArchitectureError
from nasaudit.registry import Registry

OpFactory = Callable[[int, int, int, bool], nn.Module]


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv -> BN, the NB201 ``nor_conv`` op and the DARTS cell pre-processing."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                 affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, padding, dilation=dilation, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class ConvBNReLU(nn.Sequential):
    """Conv -> BN -> ReLU, the NB101 convolution and projection ops."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
            nn.ReLU(inplace=False),
        )


class SepConv(nn.Sequential):
    """The DARTS separable convolution: (ReLU, depthwise k x k, pointwise 1x1, BN) applied twice."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, affine: bool = True) -> None:
        pad = kernel // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride, pad, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_in, 1, bias=False),
            nn.BatchNorm2d(c_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, 1, pad, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """The DARTS dilated convolution: ReLU, depthwise k x k with dilation 2, pointwise 1x1, BN."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, affine: bool = True) -> None:
        dilation = 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel, stride, dilation * (kernel // 2), dilation=dilation, groups=c_in,
                      bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class Conv7x1x7(nn.Sequential):
    """The DARTS ``conv_7x1_1x7`` op: ReLU, 1x7 then 7x1 convolution, BN."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, (1, 7), (1, stride), (0, 3), bias=False),
            nn.Conv2d(c_in, c_out, (7, 1), (stride, 1), (3, 0), bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class Zero(nn.Module):
    """The ``none`` op: zeros of the output shape (``ceil(H / stride)``, ``c_out`` channels)."""

    def __init__(self, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = -(-x.shape[2] // self.stride), -(-x.shape[3] // self.stride)
        return x.new_zeros(x.shape[0], self.c_out, h, w)


class Noise(nn.Module):
    """The S4 ``noise`` op: N(0, 1) of the output shape regardless of the input (selection paper A.2)."""

    def __init__(self, c_out: int, stride: int) -> None:
        super().__init__()
        self.c_out, self.stride = c_out, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = -(-x.shape[2] // self.stride), -(-x.shape[3] // self.stride)
        return torch.randn(x.shape[0], self.c_out, h, w, dtype=x.dtype, device=x.device)


class FactorizedReduce(nn.Module):
    """Skip at stride 2 (DARTS, NB201): two offset 1x1 stride-2 convs concatenated, then BN.

    The second branch sees the input shifted by one pixel (zero padded, as NB201 does, so odd sizes
    work too). At stride 1 it is a 1x1 conv + BN, NB201's skip between different widths.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool = True) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ArchitectureError(f"factorised reduction supports stride 1 or 2, got {stride}")
        self.stride = stride
        self.relu = nn.ReLU(inplace=False)
        halves = (c_out // 2, c_out - c_out // 2) if stride == 2 else (c_out,)
        self.convs = nn.ModuleList(nn.Conv2d(c_in, c, 1, stride, bias=False) for c in halves)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        if self.stride == 1:
            return self.bn(self.convs[0](x))
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1))


def _pool(kind: str) -> OpFactory:
    def build(c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
        pool = (nn.AvgPool2d(3, stride, 1, count_include_pad=False) if kind == "avg"
                else nn.MaxPool2d(3, stride, 1))
        if c_in == c_out:
            return pool
        return nn.Sequential(ReLUConvBN(c_in, c_out, 1, 1, 0, affine=affine), pool)

    return build


def _skip(c_in: int, c_out: int, stride: int, affine: bool) -> nn.Module:
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return FactorizedReduce(c_in, c_out, stride, affine)


_FACTORIES: dict[str, OpFactory] = {
    # shared
    "none": lambda c_in, c_out, stride, affine: Zero(c_out, stride),
    "skip_connect": _skip,
    "avg_pool_3x3": _pool("avg"),
    "max_pool_3x3": _pool("max"),
    # NB201
    "nor_conv_1x1": lambda c_in, c_out, stride, affine: ReLUConvBN(c_in, c_out, 1, stride, 0, affine=affine),
    "nor_conv_3x3": lambda c_in, c_out, stride, affine: ReLUConvBN(c_in, c_out, 3, stride, 1, affine=affine),
    # DARTS and its variants
    "sep_conv_3x3": lambda c_in, c_out, stride, affine: SepConv(c_in, c_out, 3, stride, affine),
    "sep_conv_5x5": lambda c_in, c_out, stride, affine: SepConv(c_in, c_out, 5, stride, affine),
    "sep_conv_7x7": lambda c_in, c_out, stride, affine: SepConv(c_in, c_out, 7, stride, affine),
    "dil_conv_3x3": lambda c_in, c_out, stride, affine: DilConv(c_in, c_out, 3, stride, affine),
    "dil_conv_5x5": lambda c_in, c_out, stride, affine: DilConv(c_in, c_out, 5, stride, affine),
    "conv_7x1_1x7": lambda c_in, c_out, stride, affine: Conv7x1x7(c_in, c_out, stride, affine),
    "noise": lambda c_in, c_out, stride, affine: Noise(c_out, stride),
    "linear_transformer": lambda c_in, c_out, stride, affine: nn.Conv2d(c_in, c_out, 1, stride, bias=False),
    # NB101
    "conv3x3-bn-relu": lambda c_in, c_out, stride, affine: ConvBNReLU(c_in, c_out, 3, stride, affine),
    "conv1x1-bn-relu": lambda c_in, c_out, stride, affine: ConvBNReLU(c_in, c_out, 1, stride, affine),
    "maxpool3x3": _pool("max"),
}

#: the primitive registry (an unknown name is an ArchitectureError with a suggestion)
OPS: Registry[Callable[[int, int, int, bool], nn.Module]] = Registry("operation", ArchitectureError)
for _name, _factory in _FACTORIES.items():
    OPS.add(_name, _factory)
#: every registered primitive name
OP_NAMES: tuple[str, ...] = tuple(_FACTORIES)


def get_op(name: str, c_in: int, c_out: int, stride: int, affine: bool = True) -> nn.Module:
    """Build primitive ``name`` mapping ``c_in`` to ``c_out`` channels at ``stride``.

    Definitions: NB201 paper Sec. 2.1, DARTS Sec. 3.1, selection paper App. A.2 (``noise``),
    single-path paper Sec. 4.2 (``linear_transformer``), NB101 (search-phase paper Sec. 3.2).
    """
    factory = OPS.get(name)
    if c_in < 1 or c_out < 1 or stride < 1:
        raise ArchitectureError(
            f"operation {name!r} needs positive channels and stride, got c_in={c_in}, c_out={c_out}, "
            f"stride={stride}"
        )
    return factory(c_in, c_out, stride, affine)
