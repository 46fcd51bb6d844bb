from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nasaudit.errors import ArchitectureError, ConfigError
from nasaudit.nn.networks import build_network
from nasaudit.spaces import get_space
from nasaudit.supernet.modules import ChoiceOp, DartsSupernet, NB201Supernet, build_supernet


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
