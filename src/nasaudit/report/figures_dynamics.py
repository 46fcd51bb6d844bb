"""Figures of the training-dynamics analyses (architectures paper Sec. 4: Figs. 3-8), drawn from the
results of ``nasaudit.dynamics`` on matplotlib's Agg canvas and saved as PNG; each returns its path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure

from nasaudit.dynamics.convergence import RUN_KEYS, check_history
from nasaudit.dynamics.gradient_variance import GradientVarianceSurface
from nasaudit.dynamics.landscape import Surface1D, Surface2D
from nasaudit.errors import DataError
from nasaudit.report.canvas import save_figure

_LABELS = {"train_loss": "train loss", "train_acc": "train accuracy (%)", "test_loss": "test loss",
           "test_acc": "test accuracy (%)"}


def _panels(named: Mapping[str, object], what: str) -> list[str]:
    if not named:
        raise DataError(f"cannot draw {what}: nothing to draw")
    return list(named)


def _axes_with_colorbar(n: int) -> tuple[Figure, list[Axes], Axes]:
    fig = Figure(figsize=(3.6 * n + 0.8, 3.4))
    axes = list(fig.subplots(1, n + 1, squeeze=False, gridspec_kw={"width_ratios": [1.0] * n + [0.06]})[0])
    return fig, axes[:-1], axes[-1]


def plot_landscape_2d(surfaces: Mapping[str, Surface2D], path: str | Path, levels: int = 20,
                      log_scale: bool = True) -> Path:
    """Filled loss contours ``s(alpha, beta)``, one panel per architecture on one shared level scale (Fig. 6).

    ``log_scale`` (default) spaces the levels on log(loss): away from the optimum the loss of a perturbed
    network grows by orders of magnitude and would otherwise flatten every contour near the optimum.
    """
    names = _panels(surfaces, "loss contours")
    values = [np.log(np.maximum(surfaces[n].loss, 1e-12)) if log_scale else surfaces[n].loss for n in names]
    lo = float(min(np.nanmin(v) for v in values))
    hi = float(max(np.nanmax(v) for v in values))
    steps = np.linspace(lo, hi if hi > lo else lo + 1.0, levels)
    fig, axes, cax = _axes_with_colorbar(len(names))
    for ax, name, z in zip(axes, names, values, strict=True):
        s = surfaces[name]
        filled = ax.contourf(s.alphas, s.betas, z.T, levels=steps, cmap="viridis")
        ax.contour(s.alphas, s.betas, z.T, levels=steps, colors="white", linewidths=0.4)
        ax.plot([0.0], [0.0], marker="*", color="#d1495b", markersize=9)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("alpha")
        ax.set_ylabel("beta")
    fig.colorbar(filled, cax=cax, label="log loss" if log_scale else "loss")
    return save_figure(fig, path)


def plot_landscape_1d(curves: Mapping[str, Surface1D], path: str | Path) -> Path:
    """Loss (left) and accuracy (right) along one direction, one line per architecture (Li et al. Fig. 1)."""
    names = _panels(curves, "1-D landscapes")
    fig = Figure(figsize=(8.0, 3.4))
    loss_ax, acc_ax = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for name in names:
        c = curves[name]
        loss_ax.plot(c.alphas, c.loss, label=name)
        acc_ax.plot(c.alphas, c.accuracy, label=name)
    loss_ax.set_ylabel("loss")
    acc_ax.set_ylabel("accuracy (%)")
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("alpha")
        ax.axvline(0.0, color="#9aa5b8", lw=0.8, ls=":")
    loss_ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_gradient_variance(surfaces: Mapping[str, GradientVarianceSurface], path: str | Path,
                           log_scale: bool = True) -> Path:
    """Heat maps of the gradient standard deviation ``sqrt(g(alpha, beta))`` on one shared colour scale
    (Fig. 7 plots the standard deviation "to avoid extremely large values"; ``log_scale`` colours it on a
    log scale for the same reason)."""
    names = _panels(surfaces, "gradient variance")
    stds = [np.sqrt(surfaces[n].variance) for n in names]
    lo, hi = float(min(np.nanmin(s) for s in stds)), float(max(np.nanmax(s) for s in stds))
    scale: Normalize = LogNorm(max(lo, 1e-12), max(hi, lo, 1e-12) * (1 + 1e-9)) if log_scale else Normalize(lo, hi)
    fig, axes, cax = _axes_with_colorbar(len(names))
    for ax, name, z in zip(axes, names, stds, strict=True):
        s = surfaces[name]
        mesh = ax.pcolormesh(s.alphas, s.betas, z.T, shading="nearest", cmap="viridis", norm=scale)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("alpha")
        ax.set_ylabel("beta")
    fig.colorbar(mesh, cax=cax, label="gradient std sqrt(g)")
    return save_figure(fig, path)


def plot_convergence(history: pd.DataFrame, path: str | Path,
                     metrics: Sequence[str] = ("test_loss", "test_acc"), log_loss: bool = False) -> Path:
    """Per-epoch curves overlaid per architecture set (Figs. 3-5): one panel per metric, one colour per
    set, one thin line per (arch, seed) run and a thick line for the set's mean over its runs; ``log_loss``
    draws the loss panels on a log scale (a diverging run would otherwise flatten every other curve)."""
    if not metrics:
        raise DataError("cannot draw convergence curves: no metric given")
    for metric in metrics:
        check_history(history, metric)
    sets = sorted(history["set"].astype(str).unique())
    palette = colormaps["tab10"]
    fig = Figure(figsize=(4.4 * len(metrics), 3.4))
    for i, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), i + 1)
        for k, set_name in enumerate(sets):
            colour = palette(k % 10)
            rows = history[history["set"].astype(str) == set_name]
            for _, run in rows.groupby(RUN_KEYS, sort=True):
                run = run.sort_values("epoch")
                ax.plot(run["epoch"], run[metric], color=colour, lw=0.6, alpha=0.35)
            mean = rows.groupby("epoch")[metric].mean()
            ax.plot(mean.index, mean.to_numpy(), color=colour, lw=2.0, label=set_name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(_LABELS.get(metric, metric))
        if log_loss and metric.endswith("_loss"):
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_group_accuracy(runs: pd.DataFrame, tests: pd.DataFrame, path: str | Path) -> Path:
    """Final test accuracy of every run, one box per group of each set (redundancy paper Figs. 5, 6, 10b);
    a ``*`` marks a group whose Wilcoxon test against its set's reference group is significant.

    ``runs`` has columns ``set, group, test_acc``; ``tests`` those of ``group_tests`` (``set, group,
    significant``)."""
    missing = [c for c in ("set", "group", "test_acc") if c not in runs.columns]
    if missing or runs.empty:
        raise DataError(f"cannot draw group accuracies: the runs table is empty or lacks column(s) {missing}")
    starred = {(str(r.set), str(r.group)) for r in tests.itertuples() if bool(r.significant)}
    sets = list(dict.fromkeys(runs["set"].astype(str)))
    sizes = [runs.loc[runs["set"].astype(str) == s, "group"].nunique() for s in sets]
    fig = Figure(figsize=(max(4.0, 0.7 * sum(sizes) + 1.6 * len(sets)), 3.8))
    axes = fig.subplots(1, len(sets), squeeze=False, gridspec_kw={"width_ratios": sizes})[0]
    for ax, set_name in zip(axes, sets, strict=True):
        part = runs[runs["set"].astype(str) == set_name]
        groups = list(dict.fromkeys(part["group"].astype(str)))
        values = [part.loc[part["group"].astype(str) == g, "test_acc"].to_numpy(dtype=float) for g in groups]
        ax.boxplot(values, widths=0.6)
        for k, v in enumerate(values, start=1):
            ax.plot(np.full(len(v), float(k)), v, ".", color="#2e6f9e", alpha=0.6, ms=4)
        ax.set_xticks(range(1, len(groups) + 1))
        ax.set_xticklabels([g + (" *" if (set_name, g) in starred else "") for g in groups], rotation=45,
                           ha="right", fontsize=7)
        ax.set_title(set_name, fontsize=9)
    axes[0].set_ylabel("final test accuracy (%)")
    return save_figure(fig, path)


def plot_arch_dynamics(surface: Surface2D, variance: GradientVarianceSurface, path: str | Path,
                       title: str | None = None, levels: int = 20) -> Path:
    """One architecture's loss contours ``log s(alpha, beta)`` (Fig. 6) beside its gradient standard
    deviation ``sqrt(g(alpha, beta))`` on a log colour scale (Fig. 7)."""
    z = np.log(np.maximum(surface.loss, 1e-12))
    lo, hi = float(np.nanmin(z)), float(np.nanmax(z))
    fig = Figure(figsize=(8.4, 3.6))
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    steps = np.linspace(lo, hi if hi > lo else lo + 1.0, levels)
    filled = left.contourf(surface.alphas, surface.betas, z.T, levels=steps, cmap="viridis")
    left.contour(surface.alphas, surface.betas, z.T, levels=steps, colors="white", linewidths=0.4)
    left.plot([0.0], [0.0], marker="*", color="#d1495b", markersize=9)
    fig.colorbar(filled, ax=left, label="log loss")
    std = np.sqrt(variance.variance)
    s_lo, s_hi = max(float(np.nanmin(std)), 1e-12), max(float(np.nanmax(std)), 1e-12)
    mesh = right.pcolormesh(variance.alphas, variance.betas, std.T, shading="nearest", cmap="viridis",
                            norm=LogNorm(s_lo, max(s_hi, s_lo) * (1 + 1e-9)))
    fig.colorbar(mesh, ax=right, label="gradient std sqrt(g)")
    for ax, name in ((left, "loss landscape"), (right, "gradient variance")):
        ax.set_xlabel("alpha")
        ax.set_ylabel("beta")
        ax.set_title(name, fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
