"""Layer and edge shuffling (selection paper Table 1) on networks and mixed supernets."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError
from nasaudit.nn.networks import build_network
from nasaudit.weight_sharing.differentiable.alpha import ArchParameters
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.differentiable.shuffle import (
    freeze_weights,
    shuffle_accuracy,
    shuffle_edges,
    shuffle_layers,
)

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"


def _supernet(splits: DatasetSplits, space: str) -> tuple[torch.nn.Module, object]:
    torch.manual_seed(0)
    supernet = SearchConfig.tiny("darts", space, depth=2 if space == "nb201" else 3).build_supernet(splits).eval()
    alphas = ArchParameters(supernet, generator=torch.Generator().manual_seed(0), init_scale=1.0)
    return supernet, alphas.forward_arg({k: w.detach() for k, w in alphas.weights().items()})


@pytest.mark.parametrize("space", ["nb201", "darts_s2"])
def test_frozen_weights_keep_the_function_and_swaps_move_edges(space: str, search_splits: DatasetSplits) -> None:
    supernet, arg = _supernet(search_splits, space)
    x = torch.randn(4, 1, 8, 8)
    frozen = _supernet(search_splits, space)[0]
    freeze_weights(frozen, arg)
    with torch.no_grad():
        torch.testing.assert_close(frozen(x, arg), supernet(x, arg), rtol=0, atol=0)
    shuffled, swaps = shuffle_edges(supernet, seed=0, forward_arg=arg)
    cells: list[Any] = [m for m in shuffled.modules() if hasattr(m, "edges") and hasattr(m, "ops")]
    originals: list[Any] = [m for m in frozen.modules() if hasattr(m, "edges") and hasattr(m, "ops")]
    assert len(swaps) == len(cells)
    for cell_index, a, b in swaps:
        assert torch.equal(cells[cell_index].ops[a].weights, originals[cell_index].ops[b].weights)
        src_a, src_b = cells[cell_index].edges[a][0], cells[cell_index].edges[b][0]
        if getattr(cells[cell_index], "reduction", False):
            assert (src_a < 2) == (src_b < 2)  # same stride only
    with torch.no_grad():
        assert shuffled(x, arg).shape == supernet(x, arg).shape


def test_layer_shuffle_swaps_same_shape_cells_and_undoes_itself(search_splits: DatasetSplits) -> None:
    torch.manual_seed(0)
    net = build_network(ARCH, "nb201", num_classes=10, in_channels=1, channels=4, cells_per_stage=2).eval()
    shuffled, swaps = shuffle_layers(net, seed=0)
    assert swaps == [(0, 1), (3, 4), (6, 7)]  # the two cells of each of the three stages
    back, _ = shuffle_layers(shuffled, seed=0)
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(back(x), net(x), rtol=0, atol=0)
        assert not torch.equal(shuffled(x), net(x))


def test_shuffle_accuracy_and_errors(search_splits: DatasetSplits) -> None:
    torch.manual_seed(0)
    net = build_network(ARCH, "nb201", num_classes=10, in_channels=1, channels=4, cells_per_stage=1)
    result = shuffle_accuracy(net, search_splits, seed=0, mode="edges", repeats=3)
    assert len(result.after) == 3 and 0 <= result.after_mean <= 100 and result.after_std >= 0
    assert result == shuffle_accuracy(net, search_splits, seed=0, mode="edges", repeats=3)
    with pytest.raises(ConfigError):
        shuffle_layers(net, seed=0)  # one cell per stage: nothing to swap
    with pytest.raises(ConfigError):
        shuffle_accuracy(net, search_splits, seed=0, mode="cells")
