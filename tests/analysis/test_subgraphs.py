"""Frequent subgraph mining (redundancy paper eq. 2, App. I): exact supports, null reference, real NB201 run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasaudit.analysis.importance import operation_importance
from nasaudit.analysis.ranking import top_fraction
from nasaudit.analysis.subgraphs import (
    CellGraph,
    canonical_code,
    important_subgraphs,
    mine_frequent_subgraphs,
    pattern_to_networkx,
)
from nasaudit.errors import DataError
from nasaudit.spaces import NB201Arch, NB201Space

LABELS = ((0, "in0"), (1, "node"), (2, "node"), (3, "out"))
RESIDUAL = CellGraph(LABELS, ((0, 1, "nor_conv_3x3"), (1, 3, "nor_conv_3x3"), (0, 3, "skip_connect")))
SKIP_ONLY = CellGraph(LABELS, ((0, 3, "skip_connect"),))
CONV_ONLY = CellGraph(LABELS, ((0, 2, "nor_conv_3x3"),))


def test_canonical_code_is_invariant_to_node_numbering_only():
    label = dict(LABELS)
    a = [(0, 1, "nor_conv_3x3"), (1, 3, "skip_connect")]
    b = [(0, 2, "nor_conv_3x3"), (2, 3, "skip_connect")]
    assert canonical_code(a, label) == canonical_code(b, label)
    assert canonical_code(a, label) != canonical_code([(0, 1, "skip_connect"), (1, 3, "nor_conv_3x3")], label)
    assert canonical_code([(1, 2, "x")], label) != canonical_code([(0, 2, "x")], label)
    # two intermediate nodes fed by the input, one feeding the other: direction matters
    fork = [(0, 1, "c"), (0, 2, "c"), (1, 2, "d")]
    assert canonical_code(fork, label) == canonical_code([(0, 2, "c"), (0, 1, "c"), (2, 1, "d")], label)


def test_supports_of_a_hand_checked_set():
    mined = mine_frequent_subgraphs([RESIDUAL, SKIP_ONLY, CONV_ONLY], min_support=0.05)
    support = dict(zip(mined["pattern"], mined["support"], strict=True))
    assert len(support) == 7  # the 7 connected edge subsets of RESIDUAL; the others add nothing new
    assert support["in0 -skip_connect-> out"] == pytest.approx(2 / 3)
    assert support["in0 -nor_conv_3x3-> n1"] == pytest.approx(2 / 3)
    assert support["n0 -nor_conv_3x3-> out"] == pytest.approx(1 / 3)
    whole = mined[mined["n_edges"] == 3].iloc[0]
    assert whole["support"] == pytest.approx(1 / 3) and whole["n_nodes"] == 3
    assert mine_frequent_subgraphs([RESIDUAL, SKIP_ONLY, CONV_ONLY], min_support=0.5)["n_edges"].eq(1).all()


def test_reference_of_whole_cells_gives_ratio_one():
    graphs = [RESIDUAL, SKIP_ONLY, CONV_ONLY]
    mined = mine_frequent_subgraphs(graphs, reference_from=graphs, n_random=3, seed=0)
    np.testing.assert_allclose(mined["ratio"], 1.0)
    np.testing.assert_allclose(mined["support_ref"], mined["support"])


def test_ratio_ranks_over_represented_patterns_first_and_is_reproducible():
    full = [RESIDUAL] * 20
    important = [CellGraph(LABELS, ((0, 3, "skip_connect"), (0, 1, "nor_conv_3x3")))] * 20
    first = mine_frequent_subgraphs(important, full, n_random=50, seed=7)
    assert first.equals(mine_frequent_subgraphs(important, full, n_random=50, seed=7))
    assert first.iloc[0]["pattern"] == "in0 -nor_conv_3x3-> n1; in0 -skip_connect-> out"
    assert first["ratio"].is_monotonic_decreasing
    # random 2-edge subsets of the 3-edge cell hold that pair in 1 of 3 cases
    assert first.iloc[0]["support_ref"] == pytest.approx(1 / 3, abs=0.06)


def test_pattern_round_trip_and_errors():
    graph = pattern_to_networkx("in0 -nor_conv_3x3-> n1; n1 -skip_connect-> out")
    assert graph.number_of_edges() == 2 and graph.nodes["n1"]["label"] == "node"
    with pytest.raises(DataError, match="pattern"):
        pattern_to_networkx("in0 -> out")
    with pytest.raises(DataError, match="at least one"):
        mine_frequent_subgraphs([])
    with pytest.raises(DataError, match="reference"):
        mine_frequent_subgraphs([RESIDUAL], reference_from=[RESIDUAL, SKIP_ONLY])


def test_important_subgraphs_follow_the_oi_table(make_evaluator):
    space = NB201Space()
    arch = NB201Arch(("nor_conv_3x3", "none", "avg_pool_3x3", "skip_connect", "none", "nor_conv_3x3"))
    oi = operation_importance(make_evaluator(space, lambda a: a.ops.count("nor_conv_3x3")), [arch],
                              threshold=0.5)
    important, full = important_subgraphs(space, oi)
    assert sorted(full[0].edges) == [(0, 1, "nor_conv_3x3"), (0, 3, "skip_connect"), (1, 2, "avg_pool_3x3"),
                                     (2, 3, "nor_conv_3x3")]
    assert sorted(important[0].edges) == [(0, 1, "nor_conv_3x3"), (2, 3, "nor_conv_3x3")]
    assert dict(full[0].labels)[3] == "out"
    with pytest.raises(DataError, match="no 'normal' cells"):
        important_subgraphs(space, oi, cell="normal")


def test_important_subgraphs_of_one_sign(make_evaluator):
    space = NB201Space()
    arch = NB201Arch(("nor_conv_3x3", "none", "avg_pool_3x3", "skip_connect", "none", "nor_conv_3x3"))
    # at threshold 0.2 the convs (OI +1) and the skip and pooling (OI -0.25) are all important
    oi = operation_importance(make_evaluator(space, lambda a: a.ops.count("nor_conv_3x3")), [arch], threshold=0.2)
    positive, full = important_subgraphs(space, oi, sign="positive")
    negative, _ = important_subgraphs(space, oi, sign="negative")
    either, _ = important_subgraphs(space, oi)
    assert sorted(positive[0].edges) == [(0, 1, "nor_conv_3x3"), (2, 3, "nor_conv_3x3")]
    assert sorted(negative[0].edges) == [(0, 3, "skip_connect"), (1, 2, "avg_pool_3x3")]
    assert sorted(either[0].edges) == sorted(full[0].edges)
    with pytest.raises(DataError, match="sign"):
        important_subgraphs(space, oi, sign="both")  # type: ignore[arg-type]


def test_real_nb201_top5_percent_mining(nb201_benchmark):
    scores = nb201_benchmark.scores("test_acc", "cifar10")
    archs, _ = top_fraction(nb201_benchmark.archs(), scores, 0.05)
    oi = operation_importance(nb201_benchmark.evaluator("test_acc", "cifar10"), archs, units="percent")
    important, full = important_subgraphs(nb201_benchmark.space, oi)
    mined = mine_frequent_subgraphs(important, full, seed=0)
    assert len(important) == 782 and len(mined) > 10
    assert (mined["support"] >= 0.05).all() and mined["ratio"].is_monotonic_decreasing
    assert isinstance(mined, pd.DataFrame) and list(mined["rank"]) == list(range(1, len(mined) + 1))
    # the residual skip (0 -> 3) is among the frequent important patterns (App. D)
    assert "in0 -skip_connect-> out" in set(mined["pattern"])
