"""Architecture-set generators: variants, width/depth adaptations, switch-off, cell swaps, PrimSkip."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch

from nasaudit.analysis.arch_sets import (
    DisabledOpsDartsSpace,
    cell_swap_set,
    primskip_edit_set,
    primskip_group_set,
    random_variant_set,
    shape_adaptation_set,
    switch_off_order,
    switch_off_set,
)
from nasaudit.analysis.cell_shape import cell_shape, random_connection_variants, random_operation_variants
from nasaudit.analysis.importance import operation_importance
from nasaudit.analysis.primskip import primskip_study
from nasaudit.analysis.published import REPORTED_EDIT_DISTANCES, published_genotype
from nasaudit.errors import ArchitectureError, SpaceError
from nasaudit.nn.networks import build_network
from nasaudit.spaces import DartsSpace, NB201Arch, NB201Space
from nasaudit.spaces.constraints import PrimSkip
from nasaudit.spaces.darts import DartsCell

BASES = {"DARTS_V2": published_genotype("DARTS_V2"), "DrNAS": published_genotype("DrNAS")}


def _node_ops(cell: DartsCell) -> list[Counter[str]]:
    return [Counter(op for op, _ in cell.edges[2 * i:2 * i + 2]) for i in range(cell.n_nodes)]


def test_base_cells_get_their_own_random_streams() -> None:
    """Regression: the same int seed used to draw the same wiring for every base cell of equal size."""
    a = published_genotype("DARTS_V2").normal
    renamed = {"sep_conv_3x3": "sep_conv_5x5", "skip_connect": "max_pool_3x3", "dil_conv_3x3": "avg_pool_3x3"}
    b = DartsCell(tuple((renamed[op], src) for op, src in a.edges), a.concat)  # same wiring, ops renamed
    wiring = [[src for _, src in v.edges] for v in random_connection_variants(a, 4, seed=0)]
    other = [[src for _, src in v.edges] for v in random_connection_variants(b, 4, seed=0)]
    assert wiring != other
    assert random_connection_variants(a, 4, seed=0) == random_connection_variants(a, 4, seed=0)
    ops_a = [[op for op, _ in v.edges] for v in random_operation_variants(a, 3, seed=1)]
    shifted = DartsCell(tuple((op, 1 - src if src < 2 else src) for op, src in a.edges), a.concat)
    ops_b = [[op for op, _ in v.edges] for v in random_operation_variants(shifted, 3, seed=1)]
    assert ops_a != ops_b


@pytest.mark.parametrize("kind", ["connection", "operation"])
def test_random_variant_sets(kind: str) -> None:
    space = DartsSpace()
    result = random_variant_set(space, BASES, n=5, seed=3, kind=kind)  # type: ignore[arg-type]
    assert len(result.archs) == 12 and result.table["label"].is_unique
    again = random_variant_set(space, BASES, n=5, seed=3, kind=kind)  # type: ignore[arg-type]
    assert again.archs == result.archs
    for name, base in BASES.items():
        rows = result.table[result.table["base"] == name]
        assert rows["label"].tolist() == [f"{name}/original", *(f"{name}/C{k}" for k in range(1, 6))]
        keys = list(zip(rows["normal_width"][1:], -rows["normal_depth"][1:], strict=True))
        assert keys == sorted(keys)  # Table 2's order: width ascending, depth descending
        for arch in (result.named()[label] for label in rows["label"][1:]):
            assert arch.reduce == base.reduce
            if kind == "connection":
                assert _node_ops(arch.normal) == _node_ops(base.normal)
            else:
                assert [s for _, s in arch.normal.edges] == [s for _, s in base.normal.edges]
            assert arch.normal.sorted() != base.normal.sorted()


def test_shape_adaptations_reach_the_extremes() -> None:
    result = shape_adaptation_set(DartsSpace(), BASES)
    named = result.named()
    assert (cell_shape(named["DARTS_V2/original"]).width, cell_shape(named["DARTS_V2/original"]).depth) == (3.5, 3)
    for name, base in BASES.items():
        for cell_type in ("normal", "reduce"):
            wide = cell_shape(named[f"{name}/widest_shallowest"], cell_type)
            narrow = cell_shape(named[f"{name}/narrowest_deepest"], cell_type)
            assert (wide.width, wide.depth) == (4.0, 2)
            assert (narrow.width, narrow.depth) == (1.5, 5)
            for label in ("widest_shallowest", "narrowest_deepest"):
                assert _node_ops(named[f"{name}/{label}"].cell(cell_type)) == _node_ops(base.cell(cell_type))
    # a node already wired to an input keeps that edge: DARTS_V2's first node needs no change
    assert named["DARTS_V2/widest_shallowest"].normal.edges[:2] == BASES["DARTS_V2"].normal.edges[:2]


def test_switch_off_follows_operation_importance(make_evaluator) -> None:
    space = NB201Space()
    arch = NB201Arch(("nor_conv_3x3", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3", "none"))
    weight = {"nor_conv_3x3": 3.0, "nor_conv_1x1": 2.0, "skip_connect": 1.5, "avg_pool_3x3": 0.5, "none": 0.0}
    edge_scale = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    evaluator = make_evaluator(space, lambda a: float(sum(edge_scale[k] * weight[op] for k, op in enumerate(a.ops))))
    oi = operation_importance(evaluator, [arch])
    high = switch_off_order(space, oi, arch, "high")
    assert 5 not in high  # already none
    values = oi.set_index("position")["oi"]
    assert [values[str(p)] for p in high] == sorted((values[str(p)] for p in high), reverse=True)
    assert switch_off_order(space, oi, arch, "low") == high[::-1]
    result = switch_off_set(space, oi, arch)
    assert result.table["label"].tolist() == ["original", "high/1", "high/2", "low/1", "low/2"]
    assert result.named()["high/2"].ops == tuple("none" if k in high[:2] else op for k, op in enumerate(arch.ops))


def test_switched_off_darts_cells_build_with_zero_ops(make_evaluator) -> None:
    space = DartsSpace()
    genotype = published_genotype("DARTS_V2")
    evaluator = make_evaluator(space, lambda g: sum(op.startswith("sep") for op, _ in g.normal.edges) * 0.01)
    oi = operation_importance(evaluator, [genotype])
    result = switch_off_set(space, oi, genotype, max_disabled=3, orders=["high"])
    assert isinstance(result.space, DisabledOpsDartsSpace)
    last = result.named()["high/3"]
    assert sum(op == "none" for c in ("normal", "reduce") for op, _ in last.cell(c).edges) == 3
    with pytest.raises(ArchitectureError):
        space.validate(last)  # the plain space refuses 'none'
    torch.manual_seed(0)
    net = build_network(last, result.space, num_classes=3, in_channels=1, channels=4, layers=3, auxiliary=False)
    assert net(torch.zeros(2, 1, 8, 8)).shape == (2, 3)


def test_cell_swaps() -> None:
    result = cell_swap_set(DartsSpace(), {"DARTS_V2": BASES["DARTS_V2"]})
    named, base = result.named(), BASES["DARTS_V2"]
    assert named["DARTS_V2/red<-nor"].reduce == base.normal and named["DARTS_V2/red<-nor"].normal == base.normal
    assert named["DARTS_V2/nor<-red"].normal == base.reduce
    assert {op for op, _ in named["DARTS_V2/nor<-skip"].normal.edges} == {"skip_connect"}
    assert named["DARTS_V2/nor<-skip"].reduce == base.reduce
    assert [s for _, s in named["DARTS_V2/red<-skip"].reduce.edges] == [s for _, s in base.reduce.edges]


def test_primskip_sets(make_evaluator) -> None:
    space = DartsSpace()
    groups = primskip_group_set(space, 3, seed=5)
    study = primskip_study(make_evaluator(space, lambda a: 0.0), n_per_group=3, seed=5)
    assert groups.table["arch"].tolist() == study["arch"].tolist()
    for arch, group in zip(groups.archs, groups.table["group"], strict=True):
        assert PrimSkip(space, group).satisfied(arch)
    names = sorted(REPORTED_EDIT_DISTANCES)
    edits = primskip_edit_set(space, {n: published_genotype(n) for n in names}).table.set_index("label")
    for name in names:
        assert edits.loc[f"{name}/edited", "edit_distance"] == REPORTED_EDIT_DISTANCES[name]
        edited = space.parse(edits.loc[f"{name}/edited", "arch"])
        assert edited.normal == edited.reduce
        assert {op for op, _ in edited.normal.edges} <= {"sep_conv_3x3", "sep_conv_5x5", "skip_connect"}


@pytest.mark.parametrize("name", ["DARTS_PT", "NoisyDARTS"])
def test_added_published_genotypes_parse_in_the_darts_space(name: str) -> None:
    genotype = published_genotype(name)
    space = DartsSpace()
    assert space.parse(str(genotype)) == genotype
    space.validate(genotype)


def test_non_darts_spaces_are_refused() -> None:
    with pytest.raises(SpaceError, match="DARTS"):
        cell_swap_set(NB201Space(), {})
