"""PT and PT-Mag follow DARTS-PT's ``pt_project`` (ruocwang/darts-pt@c31e376): alpha keeps training between
decisions, the weight LR is reset to lr/10, one edge per ``proj_intv`` epochs, then the topology node by node."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.differentiable.search import SearchRun, search
from nasaudit.weight_sharing.differentiable.selection import pt_schedule, select


def _reference_decision_epochs(family: str, n_edges: int, n_nodes: int, proj_intv: int) -> list[int]:
    """The tuning epochs at which DARTS-PT's ``pt_project`` decides (its loop's ``epoch % proj_intv == 0 or
    epoch == tune_epochs - 1``; NB201: ``tune_epochs = proj_intv * (edges - 1)``; DARTS: ``proj_intv *
    (edges + nodes - 1) + 1``)."""
    tune_epochs = proj_intv * (n_edges - 1) if family == "nb201" else proj_intv * (n_edges + n_nodes - 1) + 1
    return [e for e in range(tune_epochs) if e % proj_intv == 0 or e == tune_epochs - 1]


@pytest.mark.parametrize(("family", "n_edges", "n_nodes"), [("nb201", 6, 0), ("darts", 14, 3)])
@pytest.mark.parametrize("proj_intv", [2, 5, 10])
def test_schedule_decides_when_the_reference_does(family: str, n_edges: int, n_nodes: int, proj_intv: int) -> None:
    gaps = pt_schedule(family, n_edges + n_nodes, proj_intv)
    assert list(np.cumsum(gaps)) == _reference_decision_epochs(family, n_edges, n_nodes, proj_intv)
    assert pt_schedule("darts", 3, 0) == [0, 0, 0] and pt_schedule("nb201", 1, 5) == [0]


@pytest.fixture(scope="module")
def darts_run(search_splits: DatasetSplits) -> SearchRun:
    return search(SearchConfig.tiny("darts", epochs=1), search_splits, seed=0)


def test_alpha_trains_between_decisions_at_a_tenth_of_the_search_lr(darts_run: SearchRun) -> None:
    chosen = select(darts_run, "pt", seed=3, tune_epochs=2)
    tuning, edges = chosen.tuning, chosen.edges
    # one edge per round, proj_intv (2) tuning epochs between rounds, one fewer before NB201's last
    assert edges.groupby("round")["edge"].nunique().tolist() == [1] * 6
    assert tuning["after_round"].value_counts().sort_index().tolist() == [2, 2, 2, 2, 1]
    assert tuning["epoch"].tolist() == list(range(1, 10))
    assert np.allclose(tuning["lr"], darts_run.config.lr / 10, rtol=0, atol=1e-15)  # reset, never annealed
    assert tuning["arch_loss"].map(math.isfinite).all()  # the architect steps alpha while tuning
    searched = darts_run.alphas.alpha["cell"].detach()
    for (round_, edge), group in edges.groupby(["round", "edge"]):
        ops = darts_run.alphas.candidates["cell"][edge]
        before = searched[edge, [ops.index(op) for op in group["op"]]].numpy()
        if round_ == 0:  # decided before any tuning: alpha as searched
            np.testing.assert_allclose(group["alpha"].to_numpy(), before, rtol=0, atol=0)
        else:  # decided after tuning: alpha has moved
            assert not np.allclose(group["alpha"].to_numpy(), before, rtol=0, atol=1e-9)
    assert len(chosen.trajectory) == 7
    # the learning rate of the tuning can be set; the derived architecture is seeded
    assert np.allclose(select(darts_run, "pt", seed=3, tune_epochs=1, tune_lr=0.01).tuning["lr"], 0.01)
    assert select(darts_run, "pt", seed=3, tune_epochs=2).arch == chosen.arch
    with pytest.raises(ConfigError, match="tune_lr"):
        select(darts_run, "pt", seed=3, tune_lr=0.0)


def test_fixed_alpha_stays_uniform_while_tuning(search_splits: DatasetSplits) -> None:
    run = search(SearchConfig.tiny("fixed_alpha", epochs=1), search_splits, seed=0)
    chosen = select(run, "pt", seed=0, tune_epochs=1)
    assert len(chosen.tuning) == 4 and chosen.tuning["arch_loss"].isna().all()
    assert (chosen.edges["alpha"] == 0.0).all()


def test_pt_mag_keeps_the_largest_alpha_at_its_turn(darts_run: SearchRun) -> None:
    searched = darts_run.alphas.alpha["cell"].detach().clone()
    chosen = select(darts_run, "pt_mag", seed=3, tune_epochs=2)
    assert chosen.method == "pt_mag" and len(chosen.trajectory) == 7 and len(chosen.tuning) == 9
    for _, group in chosen.edges.groupby("edge"):
        assert group["selected"].sum() == 1 and group["acc_without"].isna().all()
        assert group.loc[group["selected"], "alpha"].iloc[0] == group["alpha"].max()
    # the same edge order and tuning as PT: only the op criterion differs
    pt = select(darts_run, "pt", seed=3, tune_epochs=2)
    assert chosen.edges.drop_duplicates("edge")["edge"].tolist() == pt.edges.drop_duplicates("edge")["edge"].tolist()
    assert torch.equal(darts_run.alphas.alpha["cell"].detach(), searched)  # alpha trained on a copy


@pytest.mark.parametrize("method", ["pt", "pt_mag"])
def test_darts_space_ops_edge_by_edge_then_topology_node_by_node(micro_splits: DatasetSplits, method: str) -> None:
    run = search(SearchConfig.tiny("darts", "darts_s2", epochs=1, channels=2), micro_splits, seed=0)
    chosen = select(run, method, seed=1, tune_epochs=1)
    edges, tuning = chosen.edges, chosen.tuning
    ops = edges[edges["phase"] == "op"]
    topology = edges[edges["phase"] == "topology"]
    # rounds 0-13: one edge of each cell kind; rounds 14-16: one node (3, 4 or 5 inputs) of each kind
    assert ops.groupby(["round", "cell"])["edge"].nunique().tolist() == [1] * 28
    assert sorted(ops["round"].unique()) == list(range(14))
    assert topology.groupby(["round", "cell"])["dst"].nunique().tolist() == [1] * 6
    assert sorted(topology["round"].unique()) == [14, 15, 16]
    assert topology.groupby(["cell", "dst"]).size().sort_index(level=1).tolist() == [3, 3, 4, 4, 5, 5]
    assert topology["acc_without"].notna().all()  # PT-Mag decides the topology by perturbation too
    # one tuning epoch between every two rounds, none after the last
    assert tuning["after_round"].tolist() == list(range(16)) and len(chosen.trajectory) == 18
    assert tuning["arch_loss"].map(math.isfinite).all()
