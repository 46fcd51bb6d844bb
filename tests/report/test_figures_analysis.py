"""Figures of the analyses: each draws a PNG from its analysis table; empty tables are refused clearly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasaudit.analysis.cell_shape import shape_table
from nasaudit.analysis.importance import operation_importance
from nasaudit.analysis.op_usage import op_usage
from nasaudit.analysis.published import published_genotype
from nasaudit.analysis.subgraphs import important_subgraphs, mine_frequent_subgraphs
from nasaudit.errors import DataError
from nasaudit.report import figures_analysis as figures
from nasaudit.spaces import NB201Space


class ConvCount:
    space = NB201Space()

    def evaluate(self, archs):
        return np.array([a.ops.count("nor_conv_3x3") + 0.5 * (a.ops[3] == "skip_connect") for a in archs])


def test_every_figure_is_written(tmp_path):
    space = NB201Space()
    archs = space.sample_many(30, seed=0)
    oi = operation_importance(ConvCount(), archs, threshold=0.3)
    mined = mine_frequent_subgraphs(*important_subgraphs(space, oi), seed=0)
    study = pd.DataFrame({"group": ["random", "random", "primskip", "primskip"], "score": [1.0, 2.0, 3.0, 4.0]})
    usage = op_usage(space, archs, ConvCount().evaluate(archs), top_n=(5, None))
    shapes = shape_table({"DARTS_V2": published_genotype("DARTS_V2"), "SNAS": published_genotype("SNAS")})
    written = [
        figures.plot_operation_counts(oi, tmp_path / "counts.png"),
        figures.plot_importance_boxes(oi, tmp_path / "boxes.png", threshold=0.3),
        figures.plot_subgraphs(mined, tmp_path / "sub" / "subgraphs.png", top=4),
        figures.plot_primskip(study, tmp_path / "primskip.png", optimum=4.0),
        figures.plot_op_usage(usage, tmp_path / "usage.png"),
        figures.plot_cell_shapes(shapes, tmp_path / "shapes.png"),
    ]
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert figures.short_name("sep_conv_3x3") == "s3" and figures.short_name("conv_7x1_1x7") == "conv_7x1_1x7"


def test_empty_tables_are_refused(tmp_path):
    with pytest.raises(DataError, match="operation counts"):
        figures.plot_operation_counts(pd.DataFrame(), tmp_path / "x.png")
    with pytest.raises(DataError, match="lacks column"):
        figures.plot_primskip(pd.DataFrame({"group": ["a"]}), tmp_path / "x.png")
