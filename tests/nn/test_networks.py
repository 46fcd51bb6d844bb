"""Macro networks: published parameter counts, every op of every space end to end, supernet hooks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasaudit.errors import ArchitectureError, ConfigError
from nasaudit.nn import Edge, NB201CellModule, build_network, count_flops, count_parameters, get_op
from nasaudit.spaces import DARTS_OPS, NB201_OPS, get_space
from nasaudit.spaces.darts import DartsCell, DartsGenotype, darts_variant
from nasaudit.spaces.nb101 import NB101_OPS, NB101Arch, NB101Space
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch

DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], "
    "reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), "
    "('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)


def _nb201(op: str) -> str:
    return str(NB201Arch((op,) * 6))


def test_darts_v2_cifar_has_the_published_3_3m_parameters():
    # DARTS paper (Liu et al., 2019) Table 1: DARTS (second order), C=36, 20 cells, auxiliary head: 3.3M.
    # The DARTS code's utils.count_parameters_in_MB skips "auxiliary" parameters; so does count_parameters.
    model = build_network(DARTS_V2, "darts", num_classes=10, channels=36, layers=20, auxiliary=True)
    assert count_parameters(model) == 3_349_342
    assert round(count_parameters(model) / 1e6, 1) == 3.3
    assert count_parameters(model, include_auxiliary=True) > count_parameters(model)


def test_darts_v2_imagenet_mobile_has_the_published_4_7m_parameters():
    # DARTS paper Table 2 (mobile setting, C=48, 14 cells): 4.7M parameters.
    model = build_network(DARTS_V2, "darts", num_classes=1000, variant="imagenet")
    assert round(count_parameters(model) / 1e6, 1) == 4.7


def test_nb201_networks_span_the_published_parameter_range():
    # NB201 paper Sec. 2.3 / brief: C=16, N=5 networks span about 0.07M-1.5M parameters on CIFAR-10;
    # the extremes are the cells without any convolution and the all-3x3-convolution cell.
    counts = {op: count_parameters(build_network(_nb201(op), "nb201", num_classes=10)) for op in NB201_OPS}
    assert round(counts["none"] / 1e6, 2) == 0.07 == round(counts["skip_connect"] / 1e6, 2)
    assert round(counts["nor_conv_3x3"] / 1e6, 2) == 1.53
    assert counts["none"] < counts["nor_conv_1x1"] < counts["nor_conv_3x3"]


def test_nb101_readme_cell_has_its_published_parameter_count():
    # NAS-Bench-101 README example (the "Inception-like" cell): trainable_parameters 2694282.
    arch = NB101Arch.from_spec(
        [[0, 1, 1, 1, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 1, 0, 0],
         [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
        ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "output"],
    )
    assert count_parameters(build_network(arch, NB101Space(), num_classes=10)) == 2_694_282


def _train_step(model: nn.Module, x: torch.Tensor, input_reaches_output: bool = True) -> None:
    model.train()
    out = model(x)
    logits = out[0] + out[1] if isinstance(out, tuple) else out
    logits.square().mean().backward()
    # an all-noise cell ignores its inputs, so the layers before it get no gradient
    with_grad = [p.grad is not None for p in model.parameters()]
    assert all(with_grad) if input_reaches_output else any(with_grad)
    model.eval()
    with torch.no_grad():
        assert model(x).shape == (x.shape[0], 5)


@pytest.mark.parametrize("op", NB201_OPS)
def test_nb201_network_of_every_op_trains(op):
    model = build_network(_nb201(op) if op != "none" else "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
                          "nb201", num_classes=5, channels=4, cells_per_stage=1)
    _train_step(model, torch.randn(2, 3, 8, 8))


def _darts_cell(op: str) -> DartsCell:
    return DartsCell(tuple((op, src) for node in range(4) for src in (node, node + 1)), (2, 3, 4, 5))


@pytest.mark.parametrize(("space_name", "op"), [*(("darts", op) for op in DARTS_OPS), ("darts_s4", "noise")])
def test_darts_network_of_every_op_trains(space_name, op):
    space = get_space(space_name) if space_name == "darts" else darts_variant(space_name)
    cell = _darts_cell(op)
    model = build_network(DartsGenotype(cell, cell), space, num_classes=5, channels=4, layers=3, auxiliary=False)
    model.drop_path_prob = 0.2
    _train_step(model, torch.randn(2, 3, 8, 8), input_reaches_output=op != "noise")


def test_darts_cifar_network_trains_with_auxiliary_head():
    model = build_network(DARTS_V2, "darts", num_classes=5, channels=4, layers=3, auxiliary=True)
    model.train()
    logits, aux = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == aux.shape == (2, 5)
    _train_step(model, torch.randn(2, 3, 32, 32))
    model.train()
    with pytest.raises(ConfigError, match="auxiliary=False"):
        model(torch.randn(2, 3, 8, 8))


def test_darts_imagenet_network_trains():
    model = build_network(DARTS_V2, "darts", num_classes=5, variant="imagenet", channels=8, layers=3)
    _train_step(model, torch.randn(2, 3, 224, 224))


@pytest.mark.parametrize("op", NB101_OPS)
def test_nb101_network_of_every_op_trains(op):
    arch = NB101Arch.from_spec([[0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                               ["input", op, "conv3x3-bn-relu", "output"])
    model = build_network(arch, NB101Space(), num_classes=5, stem_channels=4, stacks=3, cells_per_stack=1)
    _train_step(model, torch.randn(2, 3, 8, 8))


def test_count_flops_counts_multiply_adds_and_keeps_the_mode():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
    model.train()
    assert count_flops(model, (3, 4, 4)) == 3 * 8 * 9 * 16 + 128 * 10
    assert count_flops(model, (2, 3, 4, 4)) == 2 * (3 * 8 * 9 * 16 + 128 * 10)
    assert model.training
    with pytest.raises(ConfigError):
        count_flops(model, (3, 4))


def test_nb201_flops_grow_with_convolutions():
    flops = {op: count_flops(build_network(_nb201(op), "nb201", num_classes=10), (3, 32, 32)) for op in NB201_OPS}
    assert flops["none"] == flops["skip_connect"] < flops["nor_conv_1x1"] < flops["nor_conv_3x3"]


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ArchitectureError):
        build_network("|bad~0|", "nb201", num_classes=10)
    with pytest.raises(ConfigError, match="unknown nb201 network option"):
        build_network(_nb201("skip_connect"), "nb201", num_classes=10, width=3)
    with pytest.raises(ConfigError, match="variant"):
        build_network(DARTS_V2, "darts", num_classes=10, variant="mobile")


class _Scale(nn.Module):
    def forward(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return x * weight


def test_cells_take_any_edge_factory_and_pass_edge_args():
    # the supernet hook: a factory decides the module per edge; edge_args reach the edges in order
    seen: list[Edge] = []

    def factory(edge: Edge) -> nn.Module:
        seen.append(edge)
        return _Scale()

    cell = NB201CellModule(NB201_EDGES, 4, 3, factory)
    assert [(e.src, e.dst) for e in seen] == list(NB201_EDGES)
    x = torch.ones(1, 3, 2, 2)
    weights = [torch.tensor(float(k + 1)) for k in range(6)]
    # node1 = 1x; node2 = 2x + 3*node1 = 5x; node3 = 4x + 5*node1 + 6*node2 = 39x
    assert torch.allclose(cell(x, weights), 39 * x)
    plain = NB201CellModule(NB201_EDGES, 4, 3, lambda e: get_op("skip_connect", e.c_in, e.c_out, e.stride))
    assert torch.allclose(plain(x), 4 * x)
