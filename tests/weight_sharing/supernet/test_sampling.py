from __future__ import annotations

import numpy as np
import pytest

from nasaudit.errors import ConfigError
from nasaudit.spaces import get_space
from nasaudit.weight_sharing.supernet.modules import build_supernet
from nasaudit.weight_sharing.supernet.sampling import PathSampler


def _nb201(ops=None, cells_per_stage=2):
    space = get_space("nb201") if ops is None else get_space("nb201").restrict(ops)
    return build_supernet(space, num_classes=10, in_channels=1, channels=4, cells_per_stage=cells_per_stage)


def test_strictly_fair_uses_every_op_once_per_edge_and_step() -> None:
    supernet = _nb201()
    paths = PathSampler(supernet, "fair").step(np.random.default_rng(0))
    assert paths.shape == (5, supernet.n_cells, 6)
    assert (np.sort(paths, axis=0) == np.arange(5)[:, None, None]).all()
    assert (paths == paths[:, :1]).all()  # topology shared by all cells


def test_fair_per_cell_topologies_differ_between_cells() -> None:
    supernet = _nb201()
    paths = PathSampler(supernet, "fair", share_topology=False).step(np.random.default_rng(1))
    assert (np.sort(paths, axis=0) == np.arange(5)[:, None, None]).all()
    assert not (paths == paths[:, :1]).all()


def test_uniform_draws_one_path_of_the_masked_space() -> None:
    supernet = _nb201(["skip_connect", "nor_conv_3x3", "avg_pool_3x3"])
    sampler = PathSampler(supernet, "uniform")
    rng = np.random.default_rng(2)
    steps = np.concatenate([sampler.step(rng) for _ in range(300)])
    assert sampler.paths_per_step == 1 and steps.shape == (300, supernet.n_cells, 6)
    counts = np.bincount(steps[:, 0].ravel(), minlength=3)
    assert counts.min() > 500  # 1800 draws over 3 ops, each about 600
    unshared = PathSampler(supernet, "uniform", share_topology=False).step(np.random.default_rng(3))
    assert not (unshared == unshared[:, :1]).all()


def test_same_generator_state_same_paths() -> None:
    sampler = PathSampler(_nb201(), "fair", share_topology=False)
    assert np.array_equal(sampler.step(np.random.default_rng(7)), sampler.step(np.random.default_rng(7)))


def test_darts_supports_uniform_only() -> None:
    space = get_space("darts")
    supernet = build_supernet(space, num_classes=10, in_channels=1, channels=4, layers=3)
    path = PathSampler(supernet, "uniform").step(np.random.default_rng(0))
    assert path.shape == (1, 3, 14)
    with pytest.raises(ConfigError, match="strictly fair"):
        PathSampler(supernet, "fair")
    with pytest.raises(ConfigError, match="sampling"):
        PathSampler(_nb201(), "greedy")
