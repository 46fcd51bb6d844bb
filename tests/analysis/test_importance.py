"""Operation importance (redundancy paper eq. 1): hand-checked values, batching, units, DARTS rewiring, skips by
residual link (Fig. 8) and the worst fraction (App. A)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasaudit.analysis.importance import (
    importance_agreement,
    importance_counts,
    operation_importance,
    skip_link_summary,
    skip_links,
)
from nasaudit.analysis.published import published_genotype
from nasaudit.analysis.ranking import bottom_fraction, top_fraction
from nasaudit.errors import DataError
from nasaudit.spaces import DartsSpace, NB201Arch, NB201Space

ALL_CONV3 = NB201Arch(("nor_conv_3x3",) * 6)


def conv3_count(arch: NB201Arch) -> float:
    return float(arch.ops.count("nor_conv_3x3"))


def test_oi_of_hand_checked_nb201_cells(make_evaluator):
    evaluator = make_evaluator(NB201Space(), conv3_count)
    mixed = NB201Arch(("none", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "avg_pool_3x3", "nor_conv_1x1"))
    oi = operation_importance(evaluator, [ALL_CONV3, mixed], units="fraction", threshold=0.3)
    assert evaluator.calls == 1
    assert len(oi) == 12 and (oi["n_neighbours"] == 4).all()
    # every conv of the all-conv cell: y = 6, each of its 4 neighbours has 5 convs -> OI = 1
    first = oi[oi["arch"] == str(ALL_CONV3)]
    np.testing.assert_allclose(first["oi"], 1.0)
    np.testing.assert_allclose(first["neighbour_mean"], 5.0)
    # a non-conv op: one of its 4 swaps adds a conv -> mean = y + 1/4, OI = -0.25 (not important at 0.3)
    second = oi[oi["arch"] == str(mixed)].set_index("position")
    np.testing.assert_allclose(second.loc[["0", "2", "4", "5"], "oi"], -0.25)
    np.testing.assert_allclose(second.loc[["1", "3"], "oi"], 1.0)
    assert second["important"].tolist() == [False, True, False, True, False, False]
    assert second.loc["3", ["src", "dst", "primitive", "cell"]].tolist() == [0, 3, "nor_conv_3x3", "cell"]


def test_percent_scores_are_converted_to_the_fraction_scale(make_evaluator):
    percent = operation_importance(make_evaluator(NB201Space(), lambda a: 10 * conv3_count(a)), [ALL_CONV3],
                                   units="percent")
    np.testing.assert_allclose(percent["oi"], 0.1)
    np.testing.assert_allclose(percent["score"], 0.6)
    with pytest.raises(DataError, match="units"):
        operation_importance(make_evaluator(NB201Space(), conv3_count), [ALL_CONV3], units="permille")


def test_darts_neighbours_include_input_rewiring_and_both_cells(make_evaluator):
    space = DartsSpace()
    genotype = published_genotype("DARTS_V2")
    evaluator = make_evaluator(space, lambda g: sum(op == "skip_connect" for op, _ in g.normal.edges))
    oi = operation_importance(evaluator, [genotype])
    assert evaluator.calls == 1
    assert len(oi) == 16 and set(oi["cell"]) == {"normal", "reduce"}
    normal = oi[oi["cell"] == "normal"].set_index("position")
    # node 2's edge from input 0: 6 other primitives, no free input to rewire to
    assert normal.loc["('normal', 0)", "n_neighbours"] == 6
    # node 5's dil_conv_3x3 from node 2 (other input 0): 6 primitives + rewiring to 1, 3, 4
    assert normal.loc["('normal', 7)", "n_neighbours"] == 9
    # node 4's skip from input 0 (other input 1): 6 swaps lose the skip, rewiring to 2 or 3 keeps it
    # y = 2; neighbour mean = (6 * 1 + 2 * 2) / 8 = 1.25 -> OI = 0.75
    assert normal.loc["('normal', 5)", "oi"] == pytest.approx(0.75)
    assert (oi.loc[oi["cell"] == "reduce", "oi"] == 0).all()


def test_skips_split_by_the_residual_link_they_form(make_evaluator):
    space = DartsSpace()
    genotype = published_genotype("DARTS_V2")  # normal: two skips from input 0; reduce: three from node 2
    evaluator = make_evaluator(space, lambda g: sum(op == "skip_connect" for op, _ in g.normal.edges))
    oi = operation_importance(evaluator, [genotype])
    links = skip_links(space, oi)
    assert links.groupby("cell")["link"].apply(list).to_dict() == {"normal": ["in0", "in0"], "reduce": ["other"] * 3}
    summary = skip_link_summary(oi, links).set_index(["cell", "link"])
    assert sorted(summary.index) == [("normal", "all"), ("normal", "in0"), ("normal", "residual"),
                                     ("reduce", "all"), ("reduce", "other")]
    # OI 0.75 (node 4, see above) and 2/3 (node 5: 6 swaps lose the skip, rewiring to 1, 3 or 4 keeps it)
    assert summary.loc[("normal", "in0"), "mean_oi"] == pytest.approx((0.75 + 2 / 3) / 2)
    assert summary.loc[("normal", "residual"), ["n_skips", "share_of_archs", "fraction_positive"]].tolist() == [2, 1, 1]
    assert summary.loc[("reduce", "other"), "median_oi"] == 0


def test_only_the_input_to_output_skip_is_residual_in_nb201(make_evaluator):
    space = NB201Space()
    arch = NB201Arch(("skip_connect", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "none", "skip_connect"))
    oi = operation_importance(make_evaluator(space, conv3_count), [arch, ALL_CONV3])
    links = skip_links(space, oi)
    assert links["link"].tolist() == ["other", "in0", "other"]  # App. D: only edge 0 -> 3 is a residual link
    summary = skip_link_summary(oi, links).set_index(["cell", "link"])
    assert summary.loc[("cell", "residual"), "share_of_archs"] == 0.5  # one of the two cells has it
    assert skip_links(space, oi[oi["arch"] == str(ALL_CONV3)]).empty


def test_the_worst_fraction_is_the_best_reversed():
    archs = ["a", "b", "c", "d", "e"]
    scores = np.array([3.0, 1.0, 5.0, 2.0, 4.0])
    assert bottom_fraction(archs, scores, 0.4) == (["b", "d"], pytest.approx([1.0, 2.0]))
    assert bottom_fraction(archs, scores, 1.0)[0] == top_fraction(archs, scores, 1.0)[0][::-1]
    with pytest.raises(DataError, match="fraction"):
        bottom_fraction(archs, scores, 0)


def test_counts_and_agreement(make_evaluator):
    evaluator = make_evaluator(NB201Space(), conv3_count)
    archs = NB201Space().sample_many(20, seed=3)
    oi = operation_importance(evaluator, archs)
    counts = importance_counts(oi)
    assert counts["n_all"].sum() == 120
    assert counts["n_important"].sum() == oi["important"].sum()
    agreement = importance_agreement(oi, oi)
    assert agreement["spearman"] == pytest.approx(1.0) and agreement["important_agreement"] == 1.0
    with pytest.raises(DataError, match="shared"):
        importance_agreement(oi, oi.assign(arch="x"))


def test_empty_input_is_refused(make_evaluator):
    with pytest.raises(DataError, match="at least one"):
        operation_importance(make_evaluator(NB201Space(), conv3_count), [])


def test_real_nb201_top5_percent(nb201_benchmark):
    scores = nb201_benchmark.scores("test_acc", "cifar10")
    archs, top_scores = top_fraction(nb201_benchmark.archs(), scores, 0.05)
    assert len(archs) == 782 and top_scores[0] == pytest.approx(94.3733, abs=1e-3)
    oi = operation_importance(nb201_benchmark.evaluator("test_acc", "cifar10"), archs, units="percent")
    assert len(oi) == 782 * 6 and oi["oi"].notna().all()
    np.testing.assert_allclose(oi.groupby("arch", sort=False)["score"].first().to_numpy(), top_scores / 100)
    median = oi.groupby("primitive")["oi"].median()
    # App. D / Fig. 15: the 3x3 convolution matters most, average pooling is the redundant primitive
    assert median.idxmax() == "nor_conv_3x3" and median.idxmin() == "avg_pool_3x3"
    assert isinstance(importance_counts(oi), pd.DataFrame)
