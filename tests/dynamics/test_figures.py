"""Dynamics figures are drawn from their result values and are byte-identical for the same input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.dynamics.gradient_variance import GradientVarianceSurface
from nasaudit.dynamics.landscape import Surface1D, Surface2D
from nasaudit.errors import DataError
from nasaudit.report.figures_dynamics import (
    plot_convergence,
    plot_gradient_variance,
    plot_landscape_1d,
    plot_landscape_2d,
)

GRID = np.linspace(-1.0, 1.0, 7)
BOWL = 1.0 + GRID[:, None] ** 2 + 2.0 * GRID[None, :] ** 2


def _draw_all(folder: Path) -> list[Path]:
    plane = {"C": Surface2D(GRID, GRID, BOWL, 100.0 - BOWL), "C1": Surface2D(GRID, GRID, 2 * BOWL, 100.0 - BOWL)}
    curve = {"C": Surface1D(GRID, BOWL[:, 3], 100.0 - BOWL[:, 3])}
    gv = {"C": GradientVarianceSurface(GRID, GRID, BOWL * 1e-4, BOWL)}
    history = pd.DataFrame([{"set": s, "arch": a, "seed": seed, "epoch": e, "train_loss": 1 / e, "train_acc": 90 - 9 / e,
                             "test_loss": 1.2 / e, "test_acc": 88 - 9 / e + seed}
                            for s in ("original", "random") for a in ("x", "y") for seed in (0, 1) for e in (1, 2, 3)])
    return [plot_landscape_2d(plane, folder / "plane.png"), plot_landscape_1d(curve, folder / "curve.png"),
            plot_gradient_variance(gv, folder / "gv.png"), plot_convergence(history, folder / "conv.png")]


def test_figures_are_written_and_reproducible(tmp_path: Path) -> None:
    first = _draw_all(tmp_path / "a")
    second = _draw_all(tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.stat().st_size > 1000
        assert a.read_bytes() == b.read_bytes()


def test_empty_inputs_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError):
        plot_landscape_2d({}, tmp_path / "x.png")
    with pytest.raises(DataError):
        plot_convergence(pd.DataFrame(), tmp_path / "y.png")
