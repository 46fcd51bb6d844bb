from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from nasaudit.errors import ArchitectureError, ConfigError
from nasaudit.nn.networks import build_network
from nasaudit.nn.ops import get_op
from nasaudit.spaces import get_space
from nasaudit.weight_sharing.supernet.modules import ChoiceOp, DartsSupernet, MixedOp, NB201Supernet, build_supernet


def _standalone_into_supernet(net: nn.Module, supernet: NB201Supernet, path_row: np.ndarray) -> None:
    """Copy a stand-alone NB201 network's weights onto the chosen candidates of the supernet."""
    target = supernet.state_dict()
    for key, value in net.state_dict().items():
        parts = key.split(".")
        if parts[0] == "cells" and parts[2] == "ops":
            parts.insert(4, f"candidates.{path_row[int(parts[3])]}")
        name = "network." + ".".join(parts)
        assert name in target, name
        target[name] = value
    supernet.load_state_dict(target)


def test_nb201_path_is_the_standalone_network() -> None:
    space = get_space("nb201")
    arch = space.parse("|nor_conv_3x3~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|nor_conv_3x3~2|")
    torch.manual_seed(0)
    net = build_network(arch, space, num_classes=10, in_channels=1, channels=4, cells_per_stage=1).eval()
    supernet = build_supernet(space, num_classes=10, in_channels=1, channels=4, cells_per_stage=1).eval()
    path = supernet.encode(arch)
    _standalone_into_supernet(net, supernet, path[0])
    x = torch.randn(5, 1, 8, 8)
    assert torch.allclose(supernet(x, path), net(x), atol=1e-6)


def test_mixed_op_with_one_hot_weights_equals_the_single_path() -> None:
    space = get_space("nb201")
    single = build_supernet(space, num_classes=10, in_channels=1, channels=4, cells_per_stage=1).eval()
    mixed = build_supernet(space, num_classes=10, in_channels=1, channels=4, cells_per_stage=1, mode="mixed").eval()
    mixed.load_state_dict(single.state_dict())
    arch = space.sample(3)
    path = single.encode(arch)
    weights = torch.nn.functional.one_hot(torch.as_tensor(path[0]), len(space.ops)).float()
    x = torch.randn(3, 1, 8, 8)
    assert torch.allclose(mixed(x, weights), single(x, path), atol=1e-6)


def test_nb201_masked_supernet_has_only_the_kept_candidates() -> None:
    space = get_space("nb201").restrict(["skip_connect", "nor_conv_3x3"])
    supernet = build_supernet(space, num_classes=10, in_channels=1, channels=4, cells_per_stage=2)
    assert supernet.n_cells == 6
    assert (supernet.n_candidates() == 2).all()
    choice = next(m for m in supernet.modules() if isinstance(m, ChoiceOp))
    assert len(choice.candidates) == 2
    with pytest.raises(ArchitectureError, match="not in space"):
        supernet.encode(get_space("nb201").parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"))


def test_linear_transformers_replace_skip_and_follow_pooling() -> None:
    space = get_space("nb201")
    supernet = build_supernet(space, num_classes=10, in_channels=1, channels=4, cells_per_stage=1,
                              linear_transformers=("skip", "pool"))
    choice = next(m for m in supernet.modules() if isinstance(m, ChoiceOp))
    skip = choice.candidates[space.ops.index("skip_connect")]
    pool = choice.candidates[space.ops.index("avg_pool_3x3")]
    assert isinstance(skip, nn.Conv2d) and skip.kernel_size == (1, 1) and skip.bias is None
    assert isinstance(pool, nn.Sequential) and isinstance(pool[0], nn.AvgPool2d) and isinstance(pool[1], nn.Conv2d)


def test_darts_supernet_switches_off_the_unused_edges() -> None:
    space = get_space("darts")
    supernet = build_supernet(space, num_classes=10, in_channels=1, channels=4, layers=3)
    assert isinstance(supernet, DartsSupernet)
    arch = space.sample(0)
    path = supernet.encode(arch)
    assert path.shape == (3, 14)
    none_index = len(space.ops)  # "none" is appended after the seven DARTS ops
    normal = path[0]
    assert (normal == none_index).sum() == 14 - 8
    for src, dst, op in arch.normal.triples():
        assert supernet.candidates["normal"][space.mixed_edge(dst - 2, src)][normal[space.mixed_edge(dst - 2, src)]] == op
    assert supernet(torch.randn(2, 1, 8, 8), path).shape == (2, 10)


def test_darts_mixed_supernet_runs_on_weights() -> None:
    space = get_space("darts")
    supernet = build_supernet(space, num_classes=10, in_channels=1, channels=4, layers=3, mode="mixed")
    weights = {c: torch.softmax(torch.zeros(14, len(space.ops)), -1) for c in ("normal", "reduce")}
    assert supernet(torch.randn(2, 1, 8, 8), weights).shape == (2, 10)
    with pytest.raises(ConfigError, match="single"):
        supernet.encode(space.sample(0))


def test_bad_supernet_options_raise_clear_errors() -> None:
    with pytest.raises(ConfigError, match="unknown supernet option"):
        build_supernet(get_space("nb201"), num_classes=10, width=3)
    with pytest.raises(ConfigError, match="linear transformers"):
        build_supernet(get_space("nb201"), num_classes=10, linear_transformers=("conv",))
    with pytest.raises(ArchitectureError, match="no supernet"):
        build_supernet(object(), num_classes=10)


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
def test_one_path_per_sample_equals_separate_forwards(space_name) -> None:
    space = get_space(space_name)
    macro = {"cells_per_stage": 1} if space_name == "nb201" else {"layers": 3}
    supernet = build_supernet(space, num_classes=10, in_channels=1, channels=4, **macro).eval()
    archs = space.sample_many(3, 0)
    paths = supernet.encode_many(archs)
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        together = supernet(x.repeat(3, 1, 1, 1), np.repeat(paths, 4, axis=0))
        separate = torch.cat([supernet(x, p) for p in paths])
    assert torch.allclose(together, separate, atol=1e-5)


# -- DARTS search network: a non-affine batch norm after every pooling candidate (issue #22, item 1)
class _ReferenceMixedOp(nn.Module):
    """The search ``MixedOp`` of quark0/darts@8876e793 (cnn/model_search.py), written out here: every
    primitive built non-affine, a pool followed by ``BatchNorm2d(C, affine=False)``, weighted sum."""

    def __init__(self, c: int, stride: int, primitives: tuple[str, ...]) -> None:
        super().__init__()
        self._ops = nn.ModuleList()
        for primitive in primitives:
            op = get_op(primitive, c, c, stride, False)
            if "pool" in primitive:
                op = nn.Sequential(op, nn.BatchNorm2d(c, affine=False))
            self._ops.append(op)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        return sum(w * op(x) for w, op in zip(weights, self._ops, strict=True))


def _pool_candidates(supernet: DartsSupernet) -> list[tuple[int, nn.Module]]:
    """(edge width, candidate module) of every pooling candidate of every cell."""
    found = []
    for cell in supernet.network.cells:
        names = supernet.candidates["reduce" if cell.reduction else "normal"]
        for edge, edge_op in zip(names, cell.ops, strict=True):
            found.extend((cell.preprocess1[1].out_channels, op)
                         for name, op in zip(edge, edge_op.candidates, strict=True) if "pool" in name)
    return found


@pytest.mark.parametrize("space_name", ["darts", "darts_s1"])
def test_darts_mixed_supernet_normalises_every_pool(space_name: str) -> None:
    space = get_space(space_name)
    mixed = build_supernet(space, num_classes=10, in_channels=1, channels=4, layers=3, mode="mixed", affine=True)
    pools = _pool_candidates(mixed)
    assert len(pools) >= 14
    for width, op in pools:
        assert isinstance(op, nn.Sequential) and len(op) == 2 and isinstance(op[0], nn.AvgPool2d | nn.MaxPool2d)
        assert isinstance(op[1], nn.BatchNorm2d) and not op[1].affine and op[1].num_features == width
    # the single-path supernet is the stand-alone network: its pools stay bare
    single = build_supernet(space, num_classes=10, in_channels=1, channels=4, layers=3)
    assert all(isinstance(op, nn.AvgPool2d | nn.MaxPool2d) for _, op in _pool_candidates(single))


def test_nb201_mixed_supernet_keeps_bare_pools_as_autodl() -> None:
    supernet = build_supernet(get_space("nb201"), num_classes=10, in_channels=1, channels=4, cells_per_stage=1,
                              mode="mixed")
    pools = [m for m in supernet.modules() if isinstance(m, MixedOp)]
    index = get_space("nb201").ops.index("avg_pool_3x3")
    assert pools and all(isinstance(m.candidates[index], nn.AvgPool2d) for m in pools)


def test_darts_mixed_supernet_equals_the_reference_mixed_op() -> None:
    space = get_space("darts")
    torch.manual_seed(0)
    ours = build_supernet(space, num_classes=10, in_channels=3, channels=4, layers=3, mode="mixed", affine=False)
    reference = copy.deepcopy(ours)
    for cell in reference.network.cells:
        c = cell.preprocess1[1].out_channels
        for k, (src, _) in enumerate(cell.edges):
            stride = 2 if cell.reduction and src < 2 else 1
            names = ours.candidates["reduce" if cell.reduction else "normal"][k]
            replacement = _ReferenceMixedOp(c, stride, names)
            state = {key.replace("candidates.", "_ops.", 1): v for key, v in cell.ops[k].state_dict().items()}
            replacement.load_state_dict(state)  # strict: the same modules, the same weights
            cell.ops[k] = replacement
    alphas = {kind: torch.randn(14, len(ours.candidates[kind][0])) for kind in ("normal", "reduce")}
    weights = {kind: list(torch.softmax(a, -1)) for kind, a in alphas.items()}
    x = torch.randn(6, 3, 8, 8)
    ours.train(), reference.train()
    torch.testing.assert_close(ours(x, weights), reference(x, weights), rtol=0, atol=1e-6)
    ours.eval(), reference.eval()
    torch.testing.assert_close(ours(x, weights), reference(x, weights), rtol=0, atol=1e-6)
