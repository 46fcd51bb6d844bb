from __future__ import annotations

import numpy as np
import pytest

from nasaudit.errors import DataError
from nasaudit.report.figures_supernet import plot_predictions, plot_rank_disorder, plot_top_n_curves
from nasaudit.spaces import get_space
from nasaudit.truth import TabularBenchmark
from nasaudit.weight_sharing.supernet.ranking import rank_disorder, ranking_report, select_ranking_set


@pytest.fixture(scope="module")
def noisy(nb201_csv):
    table = TabularBenchmark.from_file(nb201_csv)
    space = get_space("nb201").restrict(["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])
    rset = select_ranking_set(table, "CIFAR10TestAccuracy200Epochs", space)
    predictions = rset.truth[None] + np.random.default_rng(0).normal(0, 2, (3, len(rset.archs)))
    return rset, predictions


def test_figures_are_written(noisy, tmp_path) -> None:
    rset, predictions = noisy
    report = ranking_report(rset, predictions)
    fig2 = plot_predictions(rset, predictions, tmp_path / "fig2.png")
    fig4 = plot_top_n_curves({"S": report, "S, shifted": ranking_report(rset, predictions + 1)}, tmp_path / "f4.png")
    disorder = plot_rank_disorder(rank_disorder(rset.truth[:30], predictions[:, :30]), tmp_path / "rd.png")
    for path in (fig2, fig4, disorder):
        assert path.is_file() and path.stat().st_size > 10_000


def test_figure_inputs_are_checked(noisy, tmp_path) -> None:
    rset, _ = noisy
    with pytest.raises(DataError):
        plot_predictions(rset, np.zeros(3), tmp_path / "x.png")
    with pytest.raises(DataError):
        plot_top_n_curves({}, tmp_path / "y.png")
