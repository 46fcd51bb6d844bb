"""Cell width and depth (architectures paper Sec. 3.2) and random variants (App. A.2)."""

from __future__ import annotations

import pytest

from nasaudit.analysis.cell_shape import (
    cell_shape,
    random_connection_variants,
    random_operation_variants,
    shape_table,
)
from nasaudit.analysis.published import REPORTED_SHAPES, published_genotype
from nasaudit.errors import SpaceError
from nasaudit.spaces import DartsCell, NB201Arch
from nasaudit.spaces.darts import DARTS_OPS

CHAIN = DartsCell((("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 2), ("skip_connect", 0),
                   ("sep_conv_3x3", 3), ("skip_connect", 1), ("sep_conv_3x3", 4), ("skip_connect", 0)),
                  (2, 3, 4, 5))


@pytest.mark.parametrize("name", sorted(REPORTED_SHAPES))
def test_published_normal_cells_match_the_paper(name):
    shape = cell_shape(published_genotype(name))
    assert (shape.width, shape.depth) == REPORTED_SHAPES[name]


def test_hand_checked_chain_and_nb201_cells():
    assert cell_shape(CHAIN) == (cell_shape(CHAIN).__class__(width=2.5, depth=5))
    assert cell_shape(NB201Arch(("nor_conv_3x3",) * 6)).width == 1.5
    assert cell_shape(NB201Arch(("nor_conv_3x3",) * 6)).depth == 3
    residual_only = cell_shape(NB201Arch(("none", "none", "none", "skip_connect", "none", "none")))
    assert (residual_only.width, residual_only.depth) == (0.0, 1)
    table = shape_table({"chain": CHAIN, "darts": published_genotype("DARTS_V2")})
    assert table["width"].tolist() == [2.5, 3.5] and table["depth"].tolist() == [5, 3]
    with pytest.raises(SpaceError, match="DARTS"):
        cell_shape("not a cell")  # type: ignore[arg-type]


def test_connection_variants_rewire_only():
    base = published_genotype("DARTS_V2").normal
    variants = random_connection_variants(base, 12, seed=0)
    assert variants == random_connection_variants(base, 12, seed=0)
    assert len({v.sorted() for v in variants} | {base.sorted()}) == 13
    for variant in variants:
        assert [op for op, _ in variant.edges] == [op for op, _ in base.edges]
        assert variant.concat == base.concat
        for k in range(0, 8, 2):
            (_, a), (_, b) = variant.edges[k:k + 2]
            assert a != b and max(a, b) < k // 2 + 2
    assert max(cell_shape(v).width for v in variants) <= cell_shape(base).width


def test_operation_variants_keep_wiring():
    base = published_genotype("DARTS_V2").normal
    variants = random_operation_variants(base, 10, seed=1)
    assert all([s for _, s in v.edges] == [s for _, s in base.edges] for v in variants)
    assert all(op in DARTS_OPS for v in variants for op, _ in v.edges)
    assert all(cell_shape(v) == cell_shape(base) for v in variants)


def test_impossible_variant_counts_are_refused():
    single = DartsCell((("sep_conv_3x3", 0), ("sep_conv_3x3", 1)), (2,))
    with pytest.raises(SpaceError, match="distinct variants"):
        random_connection_variants(single, 1, seed=0)
    with pytest.raises(SpaceError, match="non-negative"):
        random_operation_variants(single, -1, seed=0)
