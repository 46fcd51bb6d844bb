"""Training dynamics of sets of architectures side by side (architectures paper Sec. 4: convergence Sec. 4.1,
loss landscape and sharpness Sec. 4.2.1, gradient variance Sec. 4.2.2).

Every member of the sets is trained as in the ``arch_sets`` study (same jobs, same store, same checkpoints);
then at the final weights of each run: the gradient variance (``nasaudit.dynamics.gradient_variance``) and
the top Hessian eigenvalue (``nasaudit.dynamics.sharpness``); for the first seed of each member, the 1-D and
2-D filter-normalised loss landscapes and the gradient-variance map on the same plane, and the landscape's
rise (the mean loss over the 2-D grid minus the loss at the trained weights, a scalar of its flatness).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from nasaudit.limits import MAX_BATCH, MAX_RADIUS
from nasaudit.studies._base import Plot, StudyContext, StudyResult, Table, register_study
from nasaudit.studies._trained_sets import TrainedSetsSpec

if TYPE_CHECKING:
    import pandas as pd
    from torch import nn

    from nasaudit.dynamics.functional import EvalData
    from nasaudit.dynamics.gradient_variance import GradientVarianceSurface
    from nasaudit.dynamics.landscape import Surface1D, Surface2D

#: the architectures paper's claim (Sec. 4, Sec. 6) shown next to what is measured
PAPER_CLAIM = ("Architectures paper Sec. 4: cells that are wider and shallower converge faster and more stably, and "
               "have a smoother loss landscape (smaller top Hessian eigenvalue) and a smaller gradient variance than "
               "their random variants.")
#: measures compared with the cell width: (column, what the claim predicts as the width grows)
_MEASURES = (("epochs_to_fraction", "fewer epochs"), ("grad_variance", "smaller"), ("sharpness", "smaller"),
             ("landscape_rise", "smaller"), ("test_acc_mean", "higher"))


class DynamicsSpec(TrainedSetsSpec):
    """Train the sets, then measure each run's training dynamics on ``eval_images`` images of ``eval_split``.

    ``grid`` points per axis over ``[-radius, radius]`` for the 2-D landscape (``grid_1d`` for the 1-D one),
    ``variance_grid`` per axis for the gradient-variance map; ``variance_batch`` images per mini-batch of
    the gradient variance (1 is the paper's per-instance definition); ``hessian_iters`` power iterations.
    """

    kind: Literal["dynamics"] = "dynamics"
    eval_images: int = Field(256, ge=4, le=100_000)
    eval_split: Literal["train", "val", "test"] = "train"
    radius: float = Field(1.0, gt=0, le=MAX_RADIUS)
    grid: int = Field(11, ge=3, le=101)
    grid_1d: int = Field(21, ge=3, le=1001)
    variance_grid: int = Field(5, ge=1, le=51)
    variance_batch: int = Field(8, ge=1, le=MAX_BATCH)
    hessian_iters: int = Field(20, ge=1, le=1000)
    hessian_tol: float = Field(1e-3, gt=0, le=1)

    @field_validator("grid", "grid_1d", "variance_grid")
    @classmethod
    def _odd(cls, points: int) -> int:
        if points % 2 == 0:
            raise ValueError(f"grids need an odd number of points (the trained weights at the centre), got {points}")
        return points


def _width_notes(table: pd.DataFrame) -> list[str]:
    """Spearman correlation of the normal-cell width with each measure over the distinct cells (means over seeds)."""
    from nasaudit.metrics.correlation import spearman

    if "normal_width" not in table.columns:
        return []
    data = table.dropna(subset=["normal_width"]).drop_duplicates(["arch", "lr"])  # a cell in two sets counts once
    if data["normal_width"].nunique() < 2 or len(data) < 3:
        return []
    notes = []
    for column, predicted in _MEASURES:
        values = data[[column, "normal_width"]].dropna()
        if len(values) >= 3 and values[column].nunique() > 1:
            rho = spearman(values["normal_width"].to_numpy(float), values[column].to_numpy(float))
            notes.append(f"Measured: Spearman(normal-cell width, {column}) = {rho:+.2f} over {len(values)} cells "
                         f"(the claim predicts {predicted} as the width grows).")
    return notes


def _group_notes(table: pd.DataFrame) -> list[str]:
    """The widest-shallowest and narrowest-deepest adaptations side by side, where the sets have them."""
    groups = table.groupby("group")[[m for m, _ in _MEASURES]].mean()
    if not {"widest_shallowest", "narrowest_deepest"} <= set(groups.index):
        return []
    wide, deep = groups.loc["widest_shallowest"], groups.loc["narrowest_deepest"]
    parts = [f"{m} {wide[m]:.4g} vs {deep[m]:.4g}" for m, _ in _MEASURES]
    return ["Measured, widest-shallowest vs narrowest-deepest (mean over members and seeds): " + "; ".join(parts)
            + "."]


def _measure(model: nn.Module, data: EvalData, spec: DynamicsSpec, seed: int, maps: bool
             ) -> tuple[dict[str, Any], tuple[Surface2D, Surface1D, GradientVarianceSurface] | None]:
    """The scalars of one trained network and, with ``maps``, its 2-D and 1-D landscapes and its
    gradient-variance map (the landscape rise is the 2-D grid's mean loss minus the loss at its centre)."""
    import numpy as np

    from nasaudit.dynamics.gradient_variance import gradient_variance, gradient_variance_surface
    from nasaudit.dynamics.landscape import loss_surface_1d, loss_surface_2d
    from nasaudit.dynamics.sharpness import top_hessian_eigenvalue

    variance = gradient_variance(model, data, spec.variance_batch, seed)
    sharp = top_hessian_eigenvalue(model, data, seed, tol=spec.hessian_tol, max_iter=spec.hessian_iters)
    found = {"grad_variance": variance.variance, "grad_variance_total": variance.total,
             "sharpness": sharp.eigenvalue, "sharpness_converged": sharp.converged, "landscape_rise": np.nan}
    if not maps:
        return found, None
    plane = np.linspace(-spec.radius, spec.radius, spec.grid)
    surface = loss_surface_2d(model, data, plane, plane, seed)
    found["landscape_rise"] = float(surface.loss.mean() - surface.loss[spec.grid // 2, spec.grid // 2])
    line = loss_surface_1d(model, data, np.linspace(-spec.radius, spec.radius, spec.grid_1d), seed)
    axis = np.linspace(-spec.radius, spec.radius, spec.variance_grid)
    variance_map = gradient_variance_surface(model, data, axis, axis, seed, batch_size=spec.variance_batch,
                                             partition_seed=seed)
    return found, (surface, line, variance_map)


@register_study("dynamics", DynamicsSpec,
                "convergence, loss landscape, gradient variance and sharpness of sets of architectures "
                "(architectures Sec. 4)")
def run(context: StudyContext, spec: DynamicsSpec) -> StudyResult:
    """Train the sets (resumably), then measure the dynamics of every run at its final weights."""
    import pandas as pd

    from nasaudit.data.loading import load_dataset
    from nasaudit.dynamics.functional import eval_subset
    from nasaudit.report.figures_dynamics import plot_arch_dynamics, plot_landscape_1d
    from nasaudit.studies._trained_sets import (
        convergence_plots,
        load_trained_model,
        per_arch_summary,
        training_settings,
    )
    from nasaudit.studies._trained_sets import train_sets as train
    from nasaudit.train.loop import isolated_run, resolve_device

    trained = train(context, spec)
    root = str(context.resolve(spec.data_root)) if spec.data_root else None
    splits = load_dataset(spec.dataset, root, val_fraction=0.1, seed=context.seed)
    data = eval_subset(splits, min(spec.eval_images, len(getattr(splits, spec.eval_split))), context.seed,
                       spec.eval_split)
    rows, curves, plots = [], {}, []
    measures: dict[str, dict[str, Any]] = {}  # a run shared by several sets is measured once
    device = resolve_device(spec.device)
    with isolated_run(device, 1):  # one torch thread, as training: the same numbers in any process
        for run in trained.runs.to_dict("records"):
            if run["job_id"] not in measures:
                model = load_trained_model(run["job"], splits.num_classes, splits.in_channels).to(device)
                name = f"{run['set']}/{run['label']}" + (f" lr={run['lr']:g}" if spec.lrs and len(spec.lrs) > 1
                                                         else "")
                measures[run["job_id"]], maps = _measure(model, data, spec, context.seed, run["seed"] == spec.seeds[0])
                if maps is not None:
                    surface, curves[name], variance_map = maps
                    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
                    plots.append(Plot(f"dynamics_{slug}.png", f"{name}: loss contours (left) and gradient std (right)",
                                      partial(plot_arch_dynamics, surface, variance_map, title=name)))
            rows.append({"set": run["set"], "label": run["label"], "lr": run["lr"], "seed": run["seed"],
                         **measures[run["job_id"]]})
    measured = pd.DataFrame(rows)
    keys = ["set", "label", "lr"]
    per_arch = measured.groupby(keys, sort=False).agg(
        grad_variance=("grad_variance", "mean"), grad_variance_std=("grad_variance", "std"),
        sharpness=("sharpness", "mean"), sharpness_std=("sharpness", "std"),
        landscape_rise=("landscape_rise", "mean")).reset_index()
    table = per_arch_summary(trained, spec.fraction).merge(per_arch, on=keys)
    shape_columns = [c for c in ("normal_width", "normal_depth") if c in trained.members.columns]
    if shape_columns:
        table = table.merge(trained.members[["set", "label", *shape_columns]], on=["set", "label"], how="left")
    front = ["set", "label", "group", "lr", *shape_columns, "test_acc_mean", "test_acc_std", "epochs_to_fraction",
             "auc_mean", "grad_variance", "sharpness", "landscape_rise"]
    table = table[front + [c for c in table.columns if c not in front]]
    return StudyResult(
        title="Training dynamics: convergence, loss landscape, gradient variance, sharpness",
        summary=(f"{len(trained.members)} architectures trained with {len(spec.seeds)} seed(s); at each run's final "
                 f"weights, on {len(data)} {spec.eval_split} images: the gradient variance over mini-batches of "
                 f"{spec.variance_batch} (Sec. 4.2.2), the top Hessian eigenvalue by power iteration (sharpness, "
                 f"Sec. 4.2.1), and for seed {spec.seeds[0]} the filter-normalised loss landscape on a {spec.grid}x"
                 f"{spec.grid} grid over [-{spec.radius:g}, {spec.radius:g}]^2 with its gradient-variance map "
                 f"(Figs. 6-8); convergence speed is the epochs to {spec.fraction:.0%} of the final test accuracy."),
        settings={**training_settings(context, spec, trained), "eval images": len(data),
                  "gradient-variance batch": spec.variance_batch, "Hessian iterations": spec.hessian_iters},
        notes=[f"Paper's claim: {PAPER_CLAIM}", *_group_notes(table), *_width_notes(table)],
        tables=[Table("dynamics.csv", "Per architecture: final test accuracy (%), convergence speed, gradient "
                      "variance, sharpness and landscape rise (means over seeds)", table),
                Table("dynamics_runs.csv", "Per run: gradient variance and sharpness", measured, show=False),
                Table("history.csv", "Per-epoch train/validation/test metrics of every run", trained.history,
                      show=False)],
        plots=[*convergence_plots(trained),
               Plot("landscape_1d.png", "Loss and accuracy along one filter-normalised direction",
                    partial(plot_landscape_1d, curves)), *plots],
    )
