"""Horizontal fusion of NB201 networks: forward, gradients, BN statistics, clipping and weights match the separate nets."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from nasaudit.errors import ArchitectureError
from nasaudit.nn import build_network
from nasaudit.nn.fused import ConvAvgPool, FusedConv2d, FusedNetwork, unused_parameters
from nasaudit.spaces import get_space

SPACE = get_space("nb201")
# a dead edge (node 1 -> 2 feeds nothing: node 2's only exit is "none"), an all-"none" node, plain cells
DEAD = "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|none~2|"
ARCHS = [DEAD, "|none~0|+|none~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|avg_pool_3x3~2|",
         *[str(a) for a in SPACE.sample_many(4, 0)]]


def _nets(archs: list[str], **macro: int) -> list[nn.Module]:
    nets = []
    for seed, arch in enumerate(archs):
        torch.manual_seed(seed)
        nets.append(build_network(arch, SPACE, num_classes=10, in_channels=1,
                                  **{"channels": 4, "cells_per_stage": 1, **macro}))
    return nets


def _grads(net: nn.Module) -> dict[str, torch.Tensor]:
    return {name: torch.zeros_like(p) if p.grad is None else p.grad for name, p in net.named_parameters()}


def test_fused_forward_backward_and_statistics_equal_the_separate_networks():
    nets = _nets(ARCHS)
    fused = FusedNetwork(copy.deepcopy(nets), (1, 8, 8))
    x = torch.randn(6, len(nets), 1, 8, 8, generator=torch.Generator().manual_seed(0))
    out = fused(x.flatten(1, 2))
    ref = torch.stack([net(x[:, m]) for m, net in enumerate(nets)], 1)
    assert out.shape == (6, len(nets), 10)
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-6)
    out.square().mean(0).sum().backward()
    ref.square().mean(0).sum().backward()
    fused_grads = dict(fused.named_parameters())
    for link in fused.links:
        if link.fused in fused_grads:
            expected = torch.stack([_grads(nets[m])[link.separate] for m in link.owners])
            torch.testing.assert_close(fused_grads[link.fused].grad, expected.reshape(fused_grads[link.fused].shape),
                                       rtol=1e-5, atol=1e-6)
    # the BN running statistics were updated per model, exactly as the separate forward did
    stored = copy.deepcopy(nets)
    fused.store_models(stored)
    for net, copy_ in zip(nets, stored, strict=True):
        for (name, a), (_, b) in zip(net.named_buffers(), copy_.named_buffers(), strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-6, msg=name)
    fused.eval()
    for net in nets:
        net.eval()
    torch.testing.assert_close(fused(x.flatten(1, 2)), torch.stack([net(x[:, m]) for m, net in enumerate(nets)], 1),
                               rtol=0, atol=1e-6)


def test_seeds_of_one_architecture_fuse_without_gathers():
    fused = FusedNetwork(_nets([ARCHS[2]] * 3), (1, 8, 8))
    modes = {mode for cell in fused.body.cells if hasattr(cell, "groups") for edge in cell.groups for _, mode in edge}
    assert modes == {"all"}


def test_weights_round_trip_and_unused_parameters_are_restored():
    nets = _nets(ARCHS)
    fused = FusedNetwork(nets, (1, 8, 8))
    # node 2 of DEAD feeds only "none": its two incoming convolutions (edges 1 and 2) get no gradient
    assert unused_parameters(nets[0], (1, 8, 8)) == {f"cells.{cell}.ops.{edge}.{name}" for cell in (0, 2, 4)
                                                     for edge in (1, 2) for name in ("1.weight", "2.weight", "2.bias")}
    assert {name for m, name in fused.unused if m == 0} == unused_parameters(nets[0], (1, 8, 8))
    with torch.no_grad():
        for p in fused.parameters():
            p.add_(1.0)
    fused.restore_unused_()  # what separate SGD leaves alone goes back
    targets = copy.deepcopy(nets)
    fused.store_models(targets)
    for m, (before, after) in enumerate(zip(nets, targets, strict=True)):
        for (name, a), (_, b) in zip(before.named_parameters(), after.named_parameters(), strict=True):
            torch.testing.assert_close(b, a if (m, name) in fused.unused else a + 1.0, rtol=0, atol=1e-6)
    fused.load_models(nets)
    back = copy.deepcopy(targets)
    fused.store_models(back)
    for net, copy_ in zip(nets, back, strict=True):
        for a, b in zip(net.state_dict().values(), copy_.state_dict().values(), strict=True):
            assert torch.equal(a, b)


def test_per_model_gradient_clipping_equals_clipping_each_network():
    nets = _nets(ARCHS)
    fused = FusedNetwork(copy.deepcopy(nets), (1, 8, 8))
    x = torch.randn(4, len(nets), 1, 8, 8, generator=torch.Generator().manual_seed(1))
    (fused(x.flatten(1, 2)) * 10).square().sum().backward()
    norms = fused.clip_grad_norm_(1.0)
    expected = []
    for m, net in enumerate(nets):
        (net(x[:, m]) * 10).square().sum().backward()
        expected.append(nn.utils.clip_grad_norm_(net.parameters(), 1.0))
    torch.testing.assert_close(norms, torch.stack(expected), rtol=1e-5, atol=0)
    assert (norms > 1.0).all()  # every model was clipped
    params = dict(fused.named_parameters())
    for link in fused.links:
        if link.fused in params:
            expected_grad = torch.stack([_grads(nets[m])[link.separate] for m in link.owners])
            torch.testing.assert_close(params[link.fused].grad, expected_grad.reshape(params[link.fused].shape),
                                       rtol=1e-4, atol=1e-7)


def test_networks_that_cannot_fuse_are_refused():
    with pytest.raises(ArchitectureError, match="different shapes"):
        FusedNetwork([*_nets(ARCHS[:1]), *_nets(ARCHS[:1], channels=8)], (1, 8, 8))
    darts = build_network(str(get_space("darts").sample(0)), "darts", num_classes=10, in_channels=1, channels=4,
                          layers=2, auxiliary=False)
    with pytest.raises(ArchitectureError, match="cannot fuse modules of type"):
        FusedNetwork([darts, darts], (1, 8, 8))
    with pytest.raises(ArchitectureError, match="at least one"):
        FusedNetwork([], (1, 8, 8))


@pytest.mark.parametrize("pool", [nn.AvgPool2d(3, 1, 1, count_include_pad=False), nn.AvgPool2d(2, 2, 0),
                                  nn.AvgPool2d(3, 2, 1), nn.AvgPool2d(3, 2, 1, count_include_pad=False)])
def test_convolutional_average_pooling_equals_torch_pooling(pool):
    x = torch.randn(3, 5, 7, 7, generator=torch.Generator().manual_seed(2), requires_grad=True)
    torch.testing.assert_close(ConvAvgPool(pool)(x), pool(x), rtol=0, atol=1e-6)
    grad = torch.autograd.grad(ConvAvgPool(pool)(x).square().sum(), x)[0]
    torch.testing.assert_close(grad, torch.autograd.grad(pool(x).square().sum(), x)[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize(("c_in", "c_out", "kernel", "stride", "layout"), [
    (1, 4, 3, 1, torch.contiguous_format),  # a stem: 1 input channel
    (8, 8, 1, 1, torch.contiguous_format),  # nor_conv_1x1 (oneDNN's grouped 1x1 weight gradient sums otherwise)
    (8, 16, 3, 2, torch.contiguous_format),  # a residual reduction
    (16, 16, 3, 1, torch.channels_last),
])
def test_fused_convolution_gives_each_model_its_separate_numbers_bit_for_bit(c_in, c_out, kernel, stride, layout):
    """Issue #22 item 17: the grouped kernel is used only where it is exact, else one convolution per model."""
    torch.manual_seed(0)
    convs = [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, bias=False) for _ in range(3)]
    fused = FusedConv2d(convs)
    x = torch.randn(20, 3 * c_in, 6, 6).contiguous(memory_format=layout).requires_grad_()
    out = fused(x)
    grad_out = torch.randn(out.shape).contiguous(memory_format=layout)
    grads = torch.autograd.grad(out, [x, fused.weight], grad_out)
    for m, conv in enumerate(convs):
        xm = x.detach()[:, m * c_in:(m + 1) * c_in].contiguous(memory_format=layout).requires_grad_()
        om = conv(xm)
        dx, dw = torch.autograd.grad(om, [xm, conv.weight],
                                     grad_out[:, m * c_out:(m + 1) * c_out].contiguous(memory_format=layout))
        assert torch.equal(out[:, m * c_out:(m + 1) * c_out], om)
        assert torch.equal(grads[0][:, m * c_in:(m + 1) * c_in], dx)
        assert torch.equal(grads[1][m * c_out:(m + 1) * c_out], dw)
    assert (tuple(x.shape), tuple(x.stride())) in {key[:2] for key in fused.exact}  # probed once, shared


def test_fused_pooling_is_bit_for_bit_torch_pooling():
    pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)
    x = torch.randn(5, 12, 4, 4, requires_grad=True)
    fast = ConvAvgPool(pool)
    out = fast(x)
    assert torch.equal(out, pool(x))
    assert torch.equal(torch.autograd.grad(out.square().sum(), x)[0], torch.autograd.grad(pool(x).square().sum(), x)[0])
