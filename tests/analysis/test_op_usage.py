"""Op usage among the ground-truth top-N (single-path paper Fig. 3): hand-checked counts, masking, real data."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.analysis.op_usage import NO_MASK, op_usage
from nasaudit.errors import SpaceError
from nasaudit.spaces import NB201Arch, NB201Space

A = NB201Arch(("nor_conv_3x3",) * 5 + ("skip_connect",))
B = NB201Arch(("nor_conv_3x3",) * 4 + ("none", "none"))
C = NB201Arch(("avg_pool_3x3",) * 6)


def test_hand_checked_usage_and_share():
    usage = op_usage(NB201Space(), [C, A, B], np.array([50.0, 90.0, 80.0]), top_n=(1, 2, None),
                     masks=["skip_connect"])
    full = usage[usage["mask"] == NO_MASK].set_index(["top_n", "op"])
    assert full.loc[(1, "skip_connect"), "usage"] == 1.0 and full.loc[(1, "none"), "usage"] == 0.0
    assert full.loc[(2, "skip_connect"), "usage"] == 0.5 and full.loc[(2, "nor_conv_3x3"), "count"] == 9
    assert full.loc[(2, "nor_conv_3x3"), "share"] == pytest.approx(9 / 12)
    assert full.loc[(3, "avg_pool_3x3"), "n_using"] == 1
    masked = usage[usage["mask"] == "skip_connect"].set_index(["top_n", "op"])
    # without skip_connect, A drops out and B becomes the best architecture
    assert set(masked["subset_size"]) == {2}
    assert masked.loc[(1, "none"), "usage"] == 1.0 and masked.loc[(1, "nor_conv_3x3"), "count"] == 4
    assert sorted(set(usage["top_n"])) == [1, 2, 3]


def test_shares_sum_to_one_and_unknown_masks_are_refused():
    space = NB201Space()
    archs = space.sample_many(200, seed=0)
    scores = np.random.default_rng(0).random(200)
    usage = op_usage(space, archs, scores, top_n=(10, 50, None))
    np.testing.assert_allclose(usage.groupby(["mask", "top_n"])["share"].sum(), 1.0)
    with pytest.raises(SpaceError, match="unknown op"):
        op_usage(space, archs, scores, masks=["conv_7x7"])


def test_real_nb201_usage(nb201_benchmark):
    usage = op_usage(nb201_benchmark.space, nb201_benchmark.archs(), nb201_benchmark.scores("test_acc", "cifar10"))
    sizes = usage.groupby("mask")["subset_size"].first()
    assert sizes[NO_MASK] == 15_625 and (sizes.drop(NO_MASK) == 4_096).all()
    full = usage[usage["mask"] == NO_MASK]
    # Sec. 4.1: unless masked, every top-500 network uses the 3x3 convolution
    conv = full[(full["op"] == "nor_conv_3x3") & (full["top_n"] <= 500)]
    assert (conv["usage"] == 1.0).all()
    everything = full[full["top_n"] == 15_625]
    np.testing.assert_allclose(everything["share"], 0.2)
