"""The NB101 single-path supernet: a path is the stand-alone NB101 network; sampling, training, evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from nasaudit.errors import ConfigError
from nasaudit.nn.nb101_net import NB101Network
from nasaudit.spaces.nb101 import NB101Arch, NB101Space
from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator
from nasaudit.weight_sharing.supernet.modules import ChoiceOp, NB101Supernet, build_supernet
from nasaudit.weight_sharing.supernet.sampling import PathSampler
from nasaudit.weight_sharing.supernet.training import SupernetConfig, train_supernet

MACRO = {"stem_channels": 4, "cells_per_stack": 1}
# 5 vertices: input -> 1, 2, output; 1 -> 2, output; 2 -> 3 -> output (vertices 1 and 3 split the output)
FIVE = NB101Arch.from_spec([[0, 1, 1, 0, 1], [0, 0, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                           ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"])


def _standalone_into_supernet(net: NB101Network, supernet: NB101Supernet, arch: NB101Arch) -> None:
    """Copy a stand-alone NB101 network's weights into the leading slices of the path's supernet weights."""
    path = supernet.encode(arch)
    padded = [*range(arch.n_vertices - 1), supernet.n_vertices - 1]
    target = supernet.state_dict()
    for key, value in net.state_dict().items():
        parts = key.split(".")
        if parts[0] == "layers":  # layers.<i>.<projections|vertex_ops>.<vertex>.<0|1>.<param>
            parts[3] = str(padded[int(parts[3])])
            if parts[2] == "vertex_ops":
                parts.insert(4, f"candidates.{path[0, int(parts[3]) - 1]}")
        name = "network." + ".".join(parts)
        assert name in target, name
        if value.ndim == 0:
            target[name] = value
        else:
            target[name][tuple(slice(0, n) for n in value.shape)] = value
    supernet.load_state_dict(target)


@pytest.mark.parametrize("max_vertices", [5, 7])
@pytest.mark.parametrize("seed", [0, 1])
def test_nb101_path_is_the_standalone_network(max_vertices, seed) -> None:
    arch = FIVE if seed == 0 else NB101Space(max_vertices=5).sample(seed)
    torch.manual_seed(seed)
    net = NB101Network(arch.matrix, arch.ops, num_classes=10, in_channels=1, **MACRO)
    for module in net.modules():  # non-trivial BN statistics and affine parameters
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
            nn.init.uniform_(module.weight, 0.5, 2)
            nn.init.uniform_(module.bias, -1, 1)
    supernet = build_supernet(NB101Space(max_vertices=max_vertices), num_classes=10, in_channels=1, **MACRO)
    _standalone_into_supernet(net, supernet, arch)
    net.eval()
    supernet.eval()
    x = torch.randn(4, 1, 8, 8)
    assert torch.equal(supernet(x, supernet.encode(arch)), net(x))


def test_encode_pads_the_cell_and_holds_ops_and_adjacency() -> None:
    supernet = build_supernet(NB101Space(max_vertices=7), num_classes=10, in_channels=1, **MACRO)
    assert isinstance(supernet, NB101Supernet) and supernet.n_cells == 3
    path = supernet.encode(FIVE)
    assert path.shape == (3, 5 + 21) and (path == path[0]).all()
    assert supernet.n_candidates().shape == (3, 26)
    assert list(path[0, :5]) == [0, 2, 1, 0, 0]  # ops of vertices 1-3 in space order, unused vertices 4-5
    matrix = np.zeros((7, 7), dtype=np.int64)
    matrix[np.triu_indices(7, 1)] = path[0, 5:]
    assert matrix[0, 6] == matrix[1, 6] == matrix[3, 6] == 1 and matrix[:, 4:6].sum() == matrix[4:6].sum() == 0
    assert sum(isinstance(m, ChoiceOp) for m in supernet.modules()) == 3 * 5


def test_forward_backward_and_per_sample_paths() -> None:
    space = NB101Space(max_vertices=5)
    supernet = build_supernet(space, num_classes=10, in_channels=1, **MACRO)
    archs = [*space.sample_many(3, 0), FIVE]
    paths = supernet.encode_many(archs)
    x = torch.randn(2, 1, 8, 8)
    for path in paths:
        supernet.zero_grad()
        supernet(x, path).sum().backward()
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in supernet.parameters())
    supernet.eval()
    with torch.no_grad():
        together = supernet(x.repeat(len(archs), 1, 1, 1), np.repeat(paths, len(x), axis=0))
        separate = [supernet(x, p) for p in paths]
    assert torch.allclose(together, torch.cat(separate), atol=1e-6)
    assert not torch.allclose(separate[-1], separate[0])


def test_train_mode_updates_only_the_used_slice_of_the_running_stats() -> None:
    supernet = build_supernet(NB101Space(max_vertices=5), num_classes=10, in_channels=1, **MACRO)
    bn = supernet.network.layers[0].projections["1"][1]  # input -> vertex 1 of the first cell
    supernet(torch.randn(8, 1, 8, 8), supernet.encode(FIVE))  # vertices 1 and 3 feed the output: 2 channels each
    assert (bn.running_mean[:2] != 0).all() and (bn.running_mean[2:] == 0).all()
    assert (bn.running_var[2:] == 1).all() and int(bn.num_batches_tracked) == 1


def test_input_output_cell_runs() -> None:
    supernet = build_supernet(NB101Space(max_vertices=4), num_classes=10, in_channels=1, **MACRO)
    arch = NB101Arch.from_spec([[0, 1], [0, 0]], ["input", "output"])
    assert supernet(torch.randn(2, 1, 8, 8), supernet.encode(arch)).shape == (2, 10)


def test_nb101_options_raise_clear_errors() -> None:
    space = NB101Space(max_vertices=4)
    with pytest.raises(ConfigError, match="single-path only"):
        build_supernet(space, num_classes=10, mode="mixed")
    with pytest.raises(ConfigError, match="linear transformers"):
        build_supernet(space, num_classes=10, linear_transformers=("skip",))
    supernet = build_supernet(space, num_classes=10, in_channels=1, **MACRO)
    with pytest.raises(ConfigError, match="uniform"):
        PathSampler(supernet, "fair")
    with pytest.raises(ConfigError, match="NB101 spaces only"):
        SupernetConfig(space="nb201", max_vertices=4)
    with pytest.raises(ConfigError, match="max_vertices"):
        SupernetConfig(space="nb101", max_vertices=9).make_space()


def test_sampler_draws_archs_of_the_space() -> None:
    space = NB101Space(max_vertices=4)
    supernet = build_supernet(space, num_classes=10, in_channels=1, **MACRO)
    rng = np.random.default_rng(0)
    shared = PathSampler(supernet, "uniform").step(rng)
    assert shared.shape == (1, 3, 2 + 6) and (shared[0] == shared[0, 0]).all()
    free = PathSampler(supernet, "uniform", share_topology=False).step(rng)
    assert free.shape == (1, 3, 8)


def test_nb101_config_trains_and_ranks_reduced_space_archs(tiny_splits) -> None:
    torch.set_num_threads(1)
    config = SupernetConfig(space="nb101", max_vertices=4, sampling="uniform", channels=4, epochs=1,
                            batch_size=96, flip=False)
    assert config.family == "nb101" and config.macro() == {"stem_channels": 4, "cells_per_stack": 1}
    assert SupernetConfig.from_options(dict(config.to_options())) == config
    assert "max_vertices" not in dict(SupernetConfig().to_options())
    run = train_supernet(config, tiny_splits, seed=0)
    assert run.supernet.space.max_vertices == 4 and run.supernet.n_vertices == 4
    assert len(run.history) == 1 and np.isfinite(run.history[0].train_loss)
    archs = NB101Space(max_vertices=4).sample_many(6, 1)
    scores = SupernetEvaluator(run.supernet, tiny_splits).evaluate(archs)
    assert scores.shape == (6,) and ((scores >= 0) & (scores <= 100)).all()
    one_by_one = SupernetEvaluator(run.supernet, tiny_splits, archs_per_forward=1).evaluate(archs)
    assert np.array_equal(one_by_one, scores)
    again = train_supernet(config, tiny_splits, seed=0)
    assert np.array_equal(SupernetEvaluator(again.supernet, tiny_splits).evaluate(archs), scores)
    recal = SupernetEvaluator(run.supernet, tiny_splits, bn_batches=1, batch_size=32).evaluate(archs[:2])
    assert recal.shape == (2,)
