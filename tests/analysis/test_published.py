"""Published GAEA cells (redundancy paper Table 2a/2b, App. E Fig. 19; sources in ``analysis.published``)."""

from __future__ import annotations

from collections import Counter

import pytest

from nasaudit.analysis.primskip import has_residual_link, minimal_primskip_edit
from nasaudit.analysis.published import (
    REPORTED_EDIT_DISTANCES,
    REPORTED_IMAGENET_PARAMS,
    published_genotype,
    published_names,
)
from nasaudit.nn.networks import build_network, count_parameters
from nasaudit.spaces import DartsSpace
from nasaudit.studies.cell_drawing import CellDrawingSpec

PRIMSKIP_OPS = {"sep_conv_3x3", "sep_conv_5x5", "skip_connect"}


@pytest.mark.parametrize("name", ["GAEA", "GAEA_C10"])
def test_gaea_cells_parse_validate_and_round_trip_in_the_darts_space(name: str) -> None:
    genotype = published_genotype(name)
    space = DartsSpace()
    space.validate(genotype)
    assert space.parse(str(genotype)) == genotype
    assert genotype.normal.concat == genotype.reduce.concat == (2, 3, 4, 5)


def test_the_papers_gaea_is_the_primskip_compliant_imagenet_cell() -> None:
    """Sec. 4: "the GAEA cell is already fully-compliant" (Table 2a edit distance 0); the CIFAR-10 cell is not."""
    gaea = published_genotype("GAEA")
    assert REPORTED_EDIT_DISTANCES["GAEA"] == minimal_primskip_edit(gaea).distance == 0
    assert {op for op, _ in gaea.normal.edges} <= PRIMSKIP_OPS and has_residual_link(gaea.normal)
    # the Skip constraint in its strict form: skips from both inputs into the first intermediate node
    assert gaea.normal.edges[:2] == (("skip_connect", 1), ("skip_connect", 0))
    c10 = minimal_primskip_edit(published_genotype("GAEA_C10"))
    assert c10.distance == 2 and [c.split(": ")[1] for c in c10.changes] == [
        "skip_connect -> sep_conv_3x3", "dil_conv_3x3 -> sep_conv_3x3"]


def test_gaea_operations_outside_primskip_are_those_of_fig_19() -> None:
    """Fig. 19's labels outside {s3, s5, skip}: two max_pool_3x3 and one dil_conv_5x5, all in the reduce cell."""
    gaea = published_genotype("GAEA")
    outside = Counter(op for cell in (gaea.normal, gaea.reduce) for op, _ in cell.edges if op not in PRIMSKIP_OPS)
    assert outside == Counter({"max_pool_3x3": 2, "dil_conv_5x5": 1})
    assert all(op in PRIMSKIP_OPS for op, _ in gaea.normal.edges)


@pytest.mark.parametrize("name", sorted(REPORTED_IMAGENET_PARAMS))
def test_imagenet_parameter_counts_of_table_2b(name: str) -> None:
    model = build_network(published_genotype(name), "darts", num_classes=1000, variant="imagenet")
    assert round(count_parameters(model) / 1e6, 1) == REPORTED_IMAGENET_PARAMS[name]


def test_the_gaea_cells_are_listed_and_accepted_by_the_cell_drawing_spec() -> None:
    assert {"GAEA", "GAEA_C10"} <= set(published_names())
    assert CellDrawingSpec(published=["GAEA", "GAEA_C10"]).published == ["GAEA", "GAEA_C10"]
    assert {"GAEA", "GAEA_C10"} <= set(CellDrawingSpec(published=["all"]).published)
