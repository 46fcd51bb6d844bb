"""PrimSkip study and minimal edit (redundancy paper Sec. 4, Table 2a, App. D / Fig. 16)."""

from __future__ import annotations

import pytest

from nasaudit.analysis.primskip import (
    group_summary,
    has_residual_link,
    minimal_primskip_edit,
    optimum_vs_groups,
    primskip_study,
)
from nasaudit.analysis.published import REPORTED_EDIT_DISTANCES, published_genotype
from nasaudit.errors import DataError, SpaceError
from nasaudit.spaces import DartsSpace, NB201Arch, NB201Space, parse_genotype
from nasaudit.spaces.constraints import PRIMSKIP_GROUPS, PrimSkip

ALLOWED = {"sep_conv_3x3", "sep_conv_5x5", "skip_connect"}


def _genotype(normal: str) -> object:
    return parse_genotype(f"Genotype(normal={normal}, normal_concat=[2, 3, 4, 5], reduce={normal}, "
                          "reduce_concat=[2, 3, 4, 5])")


@pytest.mark.parametrize("name", sorted(REPORTED_EDIT_DISTANCES))
def test_edit_distances_of_table_2a(name):
    original = published_genotype(name)
    edit = minimal_primskip_edit(original)
    assert edit.distance == REPORTED_EDIT_DISTANCES[name] == len(edit.changes)
    assert edit.edited.reduce == edit.edited.normal
    assert {op for op, _ in edit.edited.normal.edges} <= ALLOWED
    assert [src for _, src in edit.edited.normal.edges] == [src for _, src in original.normal.edges]
    assert has_residual_link(edit.edited.normal)
    DartsSpace().validate(edit.edited)


def test_compliant_cell_needs_no_edit_even_with_a_foreign_reduce_cell():
    normal = ("[('skip_connect', 0), ('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 2), "
              "('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_5x5', 0), ('sep_conv_3x3', 4)]")
    genotype = parse_genotype(f"Genotype(normal={normal}, normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
                              "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
                              "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('max_pool_3x3', 1)], "
                              "reduce_concat=[2, 3, 4, 5])")
    edit = minimal_primskip_edit(genotype)
    assert edit.distance == 0 and edit.edited.normal == genotype.normal == edit.edited.reduce


def test_missing_residual_link_is_created_on_an_edge_already_being_edited():
    all_conv = ("[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 2), "
                "('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 0), ('sep_conv_3x3', 4)]")
    edit = minimal_primskip_edit(_genotype(all_conv))
    assert edit.distance == 1 and edit.edited.normal.edges[0] == ("skip_connect", 0)
    pooled = all_conv.replace("('sep_conv_3x3', 1), ('sep_conv_3x3', 3)", "('max_pool_3x3', 1), ('sep_conv_3x3', 3)")
    edit = minimal_primskip_edit(_genotype(pooled))
    assert edit.distance == 1 and edit.edited.normal.edges[4] == ("skip_connect", 1)


def test_non_residual_skips_become_convolutions():
    normal = ("[('skip_connect', 0), ('sep_conv_3x3', 1), ('skip_connect', 2), ('sep_conv_3x3', 1), "
              "('dil_conv_5x5', 2), ('sep_conv_3x3', 3), ('sep_conv_3x3', 0), ('avg_pool_3x3', 4)]")
    edit = minimal_primskip_edit(_genotype(normal))
    assert edit.distance == 3
    assert [op for op, _ in edit.edited.normal.edges] == [
        "skip_connect", "sep_conv_3x3", "sep_conv_3x3", "sep_conv_3x3", "sep_conv_5x5", "sep_conv_3x3",
        "sep_conv_3x3", "sep_conv_3x3"]


def test_edit_refuses_other_spaces():
    with pytest.raises(SpaceError, match="DARTS"):
        minimal_primskip_edit(NB201Arch(("skip_connect",) * 6))


def test_study_samples_every_group_in_one_call(make_evaluator):
    space = NB201Space()
    evaluator = make_evaluator(space, lambda a: a.ops.count("nor_conv_3x3"))
    study = primskip_study(evaluator, n_per_group=30, seed=4)
    assert evaluator.calls == 1
    assert study.groupby("group").size().to_dict() == dict.fromkeys(PRIMSKIP_GROUPS, 30)
    primskip = PrimSkip(space, "primskip")
    assert all(primskip.satisfied(a) for a in study.loc[study["group"] == "primskip", "arch"])
    assert study.equals(primskip_study(evaluator, n_per_group=30, seed=4))
    summary = group_summary(study)
    assert list(summary["group"]) == list(PRIMSKIP_GROUPS) and (summary["count"] == 30).all()
    with pytest.raises(DataError, match="n_per_group"):
        primskip_study(evaluator, n_per_group=0)


@pytest.mark.parametrize("dataset", ["cifar10", "cifar100", "imagenet16-120"])
def test_real_nb201_optimum_lies_in_the_primskip_group(nb201_benchmark, dataset):
    evaluator = nb201_benchmark.evaluator("test_acc", dataset)
    study = primskip_study(evaluator, n_per_group=50, seed=0)
    located = optimum_vs_groups(nb201_benchmark.space, nb201_benchmark.archs(),
                                nb201_benchmark.scores("test_acc", dataset), study).set_index("group")
    # App. D: the optimum of every dataset belongs to the PrimSkip group (and to every looser group)
    assert located["optimum_in_group"].all()
    assert located.loc["primskip", "group_size_in_benchmark"] == 2**5
    assert located.loc["primskip", "group_best_in_benchmark"] == located.loc["primskip", "optimum_score"]
    means = located["sampled_mean"]
    assert means["primskip"] > means["prim"] > means["random"]
