"""DARTS on NB101 spaces (search-phase paper Table 3B, App. C.6): the NAS-Bench-1Shot1 mixed cell against its
equations computed here in plain torch, the discretisation against the 1Shot1 rule worked by hand, and the method
contract of ``darts_alpha`` on a reduced NB101 space."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from nasaudit.errors import ConfigError
from nasaudit.spaces.nb101 import NB101_OPS, NB101Arch, NB101Space
from nasaudit.testing import MethodContract
from nasaudit.weight_sharing.differentiable.config import NB101_ALGORITHMS, SearchConfig
from nasaudit.weight_sharing.differentiable.nb101_mixed import (
    NB101MixedCell,
    NB101MixedSupernet,
    choosing_vertices,
    discretise,
    parent_counts,
)
from nasaudit.weight_sharing.methods.darts import NB101_SEARCHES


def test_parent_counts_are_the_1shot1_search_spaces_and_keep_the_edge_budget() -> None:
    # search space 3 (7 vertices) and search space 1 (6 vertices, before the release pads it to 7)
    assert parent_counts(7, 9) == [1, 1, 1, 2, 2, 2] and choosing_vertices(7, 9) == [2, 3, 4, 5, 6]
    assert parent_counts(6, 9) == [1, 2, 2, 2, 2] and choosing_vertices(6, 9) == [3, 4, 5]
    assert parent_counts(4, 9) == [1, 2, 3] and parent_counts(5, 6) == [1, 1, 2, 2]
    for n in range(3, 8):
        assert sum(parent_counts(n, 9)) <= 9
    with pytest.raises(ConfigError):
        parent_counts(2, 9)


def _conv_bn_relu(x: torch.Tensor, module: Any) -> torch.Tensor:
    """conv -> batch norm on batch statistics -> ReLU, from the module's own parameters."""
    conv, bn = module[0], module[1]
    y = F.conv2d(x, conv.weight, padding=conv.kernel_size[0] // 2)
    mean, var = y.mean((0, 2, 3), keepdim=True), y.var((0, 2, 3), unbiased=False, keepdim=True)
    y = (y - mean) / torch.sqrt(var + bn.eps) * bn.weight.view(1, -1, 1, 1) + bn.bias.view(1, -1, 1, 1)
    return torch.relu(y)


def test_the_mixed_cell_is_the_1shot1_cell_equations() -> None:
    torch.manual_seed(0)
    n, choosing = 6, choosing_vertices(6, 9)  # search space 1: vertex 2 sums both inputs unweighted
    cell = NB101MixedCell(n, NB101_OPS, choosing, c_in=3, c_out=8, affine=True).train()
    for p in cell.parameters():
        p.data.uniform_(-1.0, 1.0)
    x = torch.randn(4, 3, 5, 5)
    op_w = torch.softmax(torch.randn(n - 2, 3), -1)
    in_w = {v: torch.softmax(torch.randn(v), -1) for v in choosing}
    got = cell(x, {"ops": list(op_w), "inputs": [in_w[v] for v in choosing]})

    def mixed(v: int, h: torch.Tensor) -> torch.Tensor:  # softmax(alpha_ops[v]) over the NB101 ops
        ops = cell.vertex_ops[str(v)].candidates
        outs = [_conv_bn_relu(h, ops[0]), _conv_bn_relu(h, ops[1]), F.max_pool2d(h, 3, 1, 1)]
        return sum(w * o for w, o in zip(op_w[v - 1], outs, strict=True))

    def proj(v: int) -> torch.Tensor:
        return _conv_bn_relu(x, cell.projections[str(v)])

    s = {1: mixed(1, proj(1))}
    s[2] = mixed(2, proj(2) + s[1])
    for v in (3, 4):
        s[v] = mixed(v, in_w[v][0] * proj(v) + sum(in_w[v][u] * s[u] for u in range(1, v)))
    w = in_w[5]
    want = w[0] * proj(5) + torch.cat([w[u] * s[u] for u in range(1, 5)], dim=1)
    assert got.shape == want.shape == (4, 8, 5, 5)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def _rows(rows: dict[int, list[float]], n: int) -> torch.Tensor:
    out = torch.zeros(len(rows), n - 1)
    for k, v in enumerate(sorted(rows)):
        out[k, :v] = torch.tensor(rows[v])
    return out


def test_discretise_is_the_1shot1_rule() -> None:
    net = NB101MixedSupernet(NB101Space(max_vertices=7), num_classes=10, channels=8, cells_per_stack=1)
    ops = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.5, 0.4, 0.1]])
    inputs = {2: [0.3, 0.7], 3: [0.5, 0.2, 0.3], 4: [0.1, 0.4, 0.2, 0.3], 5: [0.1, 0.1, 0.3, 0.2, 0.3],
              6: [0.3, 0.05, 0.1, 0.1, 0.25, 0.2]}
    # by hand: v1 <- 0; v2 <- 1; v3 <- 0; v4 <- {1, 3}; v5 <- {2, 4} (tie: the lower index); output <- {0, 4}.
    # v5 feeds nothing, so v5 and v2 (which feeds only v5) are pruned: vertices 0, 1, 3, 4, 6 remain
    want = NB101Arch.from_spec([[0, 1, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                               ["input", "conv1x1-bn-relu", "maxpool3x3", "maxpool3x3", "output"])
    assert discretise({"ops": ops, "inputs": _rows(inputs, 7)}, net) == want
    # the output taking {0, 5} instead keeps every vertex: nine edges
    inputs[6] = [0.25, 0.05, 0.1, 0.1, 0.2, 0.3]
    full = discretise({"ops": ops, "inputs": _rows(inputs, 7)}, net)
    assert full.n_vertices == 7 and full.n_edges == 9 and full.ops[1:-1] == tuple(
        NB101_OPS[i] for i in ops.argmax(-1).tolist())


def test_a_fixed_cell_is_the_mixed_supernet_at_its_zero_one_weights() -> None:
    torch.manual_seed(0)
    net = NB101MixedSupernet(NB101Space(max_vertices=7), num_classes=10, channels=8, cells_per_stack=1).eval()
    chain = np.eye(7, k=1, dtype=int)  # 0 -> 1 -> ... -> 6, with 0 -> 2 and 2 -> 4 besides: every vertex used
    chain[0, 2] = chain[2, 4] = 1
    arch = NB101Arch.from_spec(chain, ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu",
                                       "conv3x3-bn-relu", "conv1x1-bn-relu", "output"])
    matrix = net.padded_matrix(arch)
    onehot = torch.eye(3)[[NB101_OPS.index(op) for op in arch.ops[1:-1]]]
    rows = [torch.tensor([float(matrix[u][v]) for u in range(v)]) for v in net.choosing]
    x = torch.randn(3, 3, 8, 8)
    torch.testing.assert_close(net(x, net.fixed_arg(arch)), net(x, {"ops": list(onehot), "inputs": rows}))


def test_nb101_search_options_are_refused_in_one_line() -> None:
    assert set(NB101_SEARCHES) <= set(NB101_ALGORITHMS)
    for changes in ({"algorithm": "gdas"}, {"algorithm": "pcdarts"}, {"max_vertices": 2}, {"max_vertices": 7, "channels": 4}):
        with pytest.raises(ConfigError) as refused:
            SearchConfig(**{"space": "nb101", **changes})
        assert "\n" not in str(refused.value)
    with pytest.raises(ConfigError, match="NB101 spaces only"):
        SearchConfig(space="nb201", max_vertices=4)


class TestDartsOnNB101(MethodContract):
    """The method contract of ``darts_alpha`` on the NB101 space of at most 4 vertices."""

    @pytest.fixture
    def method_name(self) -> str:
        return "darts_alpha"

    @pytest.fixture
    def setup(self) -> Any:
        from nasaudit.weight_sharing.setup import WSSetup

        ranked = tuple(str(a) for a in NB101Space(max_vertices=4).sample_many(4, 0))
        return WSSetup(space="nb101", max_vertices=4, epochs=1, channels=4, rank_archs=ranked, rank_images=32,
                       batch_size=128, val_fraction=0.3)
