"""Cell drawings: deterministic layout, score colours, and byte-identical PNGs for NB201, DARTS and NB101."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.figure import Figure

from nasaudit.analysis.importance import operation_importance
from nasaudit.analysis.published import published_genotype
from nasaudit.errors import ArchitectureError
from nasaudit.report.cell_drawing import X_STEP, cell_graph, draw_cell, layout, oi_scores, plot_cell, score_norm
from nasaudit.spaces import NB201Arch, NB201Space
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.nb101 import NB101Arch

NB201 = NB201Arch(("nor_conv_3x3", "none", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3"))
NB101 = NB101Arch.from_spec([[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                            ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"])


def test_layout_is_by_topological_level() -> None:
    pos = layout(cell_graph(published_genotype("DARTS_V2"), "normal"))
    assert pos[0][0] == pos[1][0] == 0.0  # both inputs in the first column
    assert pos[6][0] == max(x for x, _ in pos.values())  # the concatenated output last
    # nodes 2-4 take only inputs; node 5 takes dil_conv_3x3 from node 2; the output comes after node 5
    assert [pos[n][0] / X_STEP for n in range(2, 7)] == [1, 1, 1, 2, 3]
    nb201 = layout(cell_graph(NB201))
    assert [nb201[n][0] / X_STEP for n in range(4)] == [0, 1, 2, 3]
    assert layout(cell_graph(NB101)) == layout(cell_graph(NB101))


def test_scores_colour_their_operations() -> None:
    scores = {("normal", 0): -2.0, ("normal", 3): 1.0, ("normal", 7): 2.0}
    fig = Figure()
    colours = draw_cell(fig.add_subplot(), published_genotype("DARTS_V2"), "normal", scores, cmap="coolwarm")
    cmap = colormaps["coolwarm"]
    assert set(colours) == set(scores)
    assert colours[("normal", 7)] == pytest.approx(cmap(1.0))
    assert colours[("normal", 0)] == pytest.approx(cmap(0.0))
    assert score_norm(scores)(0.0) == pytest.approx(0.5)  # OI scales are symmetric about zero
    node_colours = draw_cell(Figure().add_subplot(), NB101, scores={("node", 1): 1.0, ("node", 2): 3.0})
    assert set(node_colours) == {("node", 1), ("node", 2)}


class _Conv3Count:
    """Scores an NB201 cell by its number of 3x3 convolutions."""

    space: SearchSpace = NB201Space()

    def evaluate(self, archs: Sequence[NB201Arch]) -> np.ndarray:
        return np.array([float(a.ops.count("nor_conv_3x3")) for a in archs])


def test_oi_scores_from_an_importance_table() -> None:
    space = NB201Space()
    oi = operation_importance(_Conv3Count(), [NB201])
    scores = oi_scores(oi, NB201, space)
    assert set(scores) == set(range(6))
    assert scores[0] == pytest.approx(1.0)  # each of the 4 swaps of a 3x3 conv loses one


@pytest.mark.parametrize("arch", [NB201, published_genotype("DARTS_V2"), NB101], ids=["nb201", "darts", "nb101"])
def test_pictures_are_byte_identical(tmp_path: Path, arch: object) -> None:
    scores = {0: 0.5, 3: -0.25} if isinstance(arch, NB201Arch) else None
    first = plot_cell(arch, tmp_path / "a.png", scores=scores, title="cell")
    second = plot_cell(arch, tmp_path / "b.png", scores=scores, title="cell")
    assert first.stat().st_size > 1000
    assert first.read_bytes() == second.read_bytes()


def test_unknown_cells_are_refused() -> None:
    with pytest.raises(ArchitectureError):
        cell_graph("not a cell")
    with pytest.raises(ArchitectureError):
        cell_graph(published_genotype("DARTS_V2"), "middle")
