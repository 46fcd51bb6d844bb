"""Architecture parameters, projections and GDAS sampling on real supernets."""

from __future__ import annotations

import pytest
import torch

from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError
from nasaudit.spaces.darts import S1_EDGE_OPS, DartsSpace
from nasaudit.spaces.registry import get_space
from nasaudit.weight_sharing.differentiable.alpha import ArchParameters, Projection
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.supernet.modules import MixedOp, SampledWeights, build_supernet


def test_alpha_follows_the_supernets_masked_candidates(search_splits: DatasetSplits) -> None:
    config = SearchConfig.tiny("darts", "nb201", mask=("none", "avg_pool_3x3"))
    supernet = config.build_supernet(search_splits)
    alphas = ArchParameters(supernet, generator=torch.Generator().manual_seed(0))
    assert alphas.candidates["cell"] == list(supernet.cell_candidates[0])
    assert alphas.alpha["cell"].shape == (6, 3)
    weights = alphas.weights()["cell"]
    torch.testing.assert_close(weights.sum(-1), torch.ones(6))
    torch.testing.assert_close(weights, torch.softmax(alphas.alpha["cell"], -1))


def test_darts_alpha_has_none_and_both_cell_kinds(search_splits: DatasetSplits) -> None:
    supernet = SearchConfig.tiny("darts", "darts").build_supernet(search_splits)
    alphas = ArchParameters(supernet)
    assert alphas.kinds == ("normal", "reduce")
    assert all(ops[0] == "none" and len(ops) == 8 for ops in alphas.candidates["normal"])
    assert alphas.alpha["reduce"].shape == (14, 8)


def test_padded_candidates_get_no_weight(search_splits: DatasetSplits) -> None:
    edge_ops = {c: list(S1_EDGE_OPS[c]) for c in S1_EDGE_OPS}
    edge_ops["normal"][0] = ("skip_connect",)  # an edge with fewer candidates than the others
    space = DartsSpace(name="s1_short", edge_ops=edge_ops)
    supernet = build_supernet(space, num_classes=10, in_channels=1, mode="mixed", channels=2, layers=3)
    alphas = ArchParameters(supernet, generator=torch.Generator().manual_seed(0))
    weights = alphas.weights()
    assert weights["normal"][0].tolist() == [1.0, 0.0]
    assert len(alphas.forward_arg(weights)["normal"][0]) == 1
    _, index = alphas.gumbel(1.0)
    assert int(index["normal"][0]) == 0


def test_single_path_supernet_is_refused(search_splits: DatasetSplits) -> None:
    supernet = build_supernet(get_space("nb201"), num_classes=10, in_channels=1, channels=4, cells_per_stage=1)
    with pytest.raises(ConfigError):
        ArchParameters(supernet)


def test_projection_fixes_prunes_and_removes() -> None:
    weights = {"cell": torch.full((3, 4), 0.25)}
    proj = Projection({"cell": [-1, 2, -1]}, {"cell": [False, False, True]})
    out = proj.project(weights)["cell"]
    assert out[0].tolist() == [0.25] * 4 and out[1].tolist() == [0, 0, 1, 0] and out[2].tolist() == [0] * 4
    assert proj.project(weights, remove_op=("cell", 0, 3))["cell"][0].tolist() == [0.25, 0.25, 0.25, 0.0]
    assert proj.project(weights, remove_edge=("cell", 1))["cell"][1].tolist() == [0.0] * 4
    assert proj.single_paths() == {"cell": [-1, 2, -1]}
    assert Projection.from_state(proj.state()) == proj


def test_gumbel_samples_are_hard_and_carry_gradient(search_splits: DatasetSplits) -> None:
    alphas = ArchParameters(SearchConfig.tiny("gdas").build_supernet(search_splits),
                            generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    hard, index = alphas.gumbel(10.0)
    assert torch.equal(hard["cell"].detach(), torch.nn.functional.one_hot(index["cell"], 5).float())
    (hard["cell"] * torch.arange(5.0)).sum().backward()
    assert alphas.alpha["cell"].grad is not None and alphas.alpha["cell"].grad.abs().sum() > 0


def test_sampled_weights_run_one_candidate_with_the_mixed_value() -> None:
    torch.manual_seed(0)
    op = MixedOp([torch.nn.Conv2d(2, 2, 3, padding=1), torch.nn.Conv2d(2, 2, 1), torch.nn.Identity()])
    x = torch.randn(3, 2, 4, 4)
    row = torch.tensor([0.0, 1.0, 0.0], requires_grad=True)
    torch.testing.assert_close(op(x, SampledWeights(row, 1)), op(x, row.detach()))
    op(x, SampledWeights(row, 1)).sum().backward()
    assert row.grad is not None and row.grad[0] != 0  # unselected candidates keep a gradient (GDAS)
