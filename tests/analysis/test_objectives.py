"""Cost objectives (redundancy paper App. G): NB201 parameters and FLOPs by the per-edge sum equal direct counts and
NB201's published extremes; latency is a positive measurement on one thread."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasaudit.analysis.objectives import count_objective, measure_latency
from nasaudit.errors import ConfigError
from nasaudit.nn import build_network, count_parameters
from nasaudit.spaces import get_space


def test_params_per_edge_sum_matches_direct_counts() -> None:
    space = get_space("nb201")
    archs = space.sample_many(3, 7)
    counted = count_objective(space, archs, "params")
    direct = [count_parameters(build_network(a, space, num_classes=10)) for a in archs]
    assert counted.tolist() == direct
    # NB201's CIFAR-10 networks span 0.073306 MB (no convolution) to 1.531546 MB (every edge a 3x3 convolution)
    extremes = [space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
                space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                            "nor_conv_3x3~2|")]
    assert count_objective(space, extremes, "params").tolist() == [73_306, 1_531_546]


def test_flops_of_the_largest_nb201_network() -> None:
    space = get_space("nb201").restrict(["nor_conv_3x3"])  # one network counted: every edge a 3x3 convolution
    largest = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                          "nor_conv_3x3~2|")
    assert count_objective(space, [largest], "flops").tolist() == [220_119_680]  # NB201 reports 220.11M


def test_latency_is_measured_on_one_thread_and_refusals() -> None:
    space = get_space("nb201")
    threads = torch.get_num_threads()
    seconds = measure_latency(space, space.sample_many(1, 0), repeats=2, warmup=0)
    assert seconds.shape == (1,) and np.all(seconds > 0) and torch.get_num_threads() == threads
    with pytest.raises(ConfigError, match="timed"):
        measure_latency(space, [], repeats=0)
    with pytest.raises(ConfigError, match="counted objectives"):
        count_objective(space, space.sample_many(1, 0), "energy")
