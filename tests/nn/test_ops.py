"""The primitive-op registry: every op of every space builds, keeps shapes and trains (forward+backward)."""

from __future__ import annotations

import pytest
import torch

from nasaudit.errors import ArchitectureError
from nasaudit.nn.ops import OP_NAMES, get_op
from nasaudit.spaces import NB201_OPS
from nasaudit.spaces.darts import KNOWN_DARTS_OPS
from nasaudit.spaces.nb101 import NB101_OPS


def test_registry_covers_every_space_op():
    for op in (*NB201_OPS, *KNOWN_DARTS_OPS, *NB101_OPS):
        assert op in OP_NAMES


@pytest.mark.parametrize("name", OP_NAMES)
@pytest.mark.parametrize(("c_in", "c_out", "stride"), [(4, 4, 1), (4, 4, 2), (3, 6, 1), (6, 4, 2)])
def test_op_maps_shapes_and_backpropagates(name, c_in, c_out, stride):
    op = get_op(name, c_in, c_out, stride)
    x = torch.randn(2, c_in, 7, 7, requires_grad=True)
    out = op(x)
    assert out.shape == (2, c_out, -(-7 // stride), -(-7 // stride))
    if name in ("none", "noise"):  # outputs that do not depend on the input
        assert not out.requires_grad
        return
    out.square().sum().backward()
    assert x.grad is not None


def test_none_is_zero_and_noise_ignores_its_input():
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(get_op("none", 4, 4, 1)(x), torch.zeros_like(x))
    noise = get_op("noise", 4, 4, 1)
    torch.manual_seed(0)
    a = noise(x)
    torch.manual_seed(0)
    b = noise(torch.zeros_like(x))
    assert torch.equal(a, b)
    assert abs(float(a.mean())) < 0.2 and abs(float(a.std()) - 1.0) < 0.2


def test_skip_is_identity_at_stride_one_and_reduces_otherwise():
    assert isinstance(get_op("skip_connect", 8, 8, 1), torch.nn.Identity)
    assert not isinstance(get_op("skip_connect", 8, 8, 2), torch.nn.Identity)


def test_parameter_counts_of_darts_ops_match_their_definition():
    # sep_conv_3x3 at C: two (depthwise 9C + pointwise C^2 + BN 2C); dil_conv_3x3: 9C + C^2 + 2C
    c = 16
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(get_op("sep_conv_3x3", c, c, 1)) == 2 * (9 * c + c * c + 2 * c)
    assert count(get_op("dil_conv_5x5", c, c, 1)) == 25 * c + c * c + 2 * c
    assert count(get_op("linear_transformer", c, c, 1)) == c * c


def test_unknown_op_and_bad_sizes_are_clear_errors():
    with pytest.raises(ArchitectureError, match="unknown operation 'conv_9x9'"):
        get_op("conv_9x9", 4, 4, 1)
    with pytest.raises(ArchitectureError, match="positive"):
        get_op("nor_conv_3x3", 0, 4, 1)
