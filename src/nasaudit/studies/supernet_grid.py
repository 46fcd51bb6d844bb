"""Op masks x supernet training variants x seeds, each ranked against the truth (single-path paper Sec. 4,
Figs. 4-6), through the audit's executor and store."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Literal

from nasaudit.errors import ConfigError
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study

#: the shipped grid on the embedded data
EMBEDDED_GRID = Path(__file__).resolve().parents[1] / "weight_sharing" / "supernet" / "specs" / "embedded_grid.yaml"


class SupernetGridSpec(StudySpec):
    """``grid`` is a grid spec file (see ``nasaudit supernet grid``) relative to the spec, or ``embedded``."""

    file_fields = ("grid",)

    kind: Literal["supernet_grid"] = "supernet_grid"
    grid: str = "embedded"
    #: overrides of the grid file's dataset folder and ground-truth table
    data_root: str | None = None
    table: str | None = None


def grid_file(context: StudyContext, spec: SupernetGridSpec) -> Path:
    """The grid spec file a grid study reads."""
    return EMBEDDED_GRID if spec.grid == "embedded" else context.resolve(spec.grid)


@register_study("supernet_grid", SupernetGridSpec, "supernet variants x op masks x seeds (single-path Sec. 4)")
def run(context: StudyContext, spec: SupernetGridSpec) -> StudyResult:
    """Which supernet training variants help under which op mask, with error bars over seeds."""
    import pandas as pd

    from nasaudit.report.figures_supernet import plot_top_n_curves
    from nasaudit.weight_sharing.supernet.grid import GridSpec, grid_reports, grid_summary, run_grid

    path = grid_file(context, spec)
    grid = GridSpec.from_yaml(path, data_root=str(context.resolve(spec.data_root)) if spec.data_root else None,
                              benchmark=str(context.resolve(spec.table)) if spec.table else None)
    summary = run_grid(grid, context.store, context.executor())
    if not summary.complete:
        raise ConfigError(f"supernet grid {grid.experiment!r}: {summary}")
    reports = grid_reports(context.store, grid.experiment)
    table = grid_summary(reports)
    kendall = table[table["metric"] == "kendall_tau"].sort_values("mean", ascending=False)
    best = kendall.iloc[0]
    curves = pd.concat([r.curve.assign(key=k) for k, r in reports.items()])
    result = StudyResult(
        title="Supernet training variants and op masks",
        summary=(f"{len(reports)} (variant, mask) settings x {len(grid.seeds)} seeds of SPOS supernets, each ranked "
                 f"against {grid.benchmark} ({grid.metric}); mean and std over seeds, and Welch's t-test of each "
                 "variant against the baseline with the same mask (single-path paper Sec. 4)."),
        settings={"grid": str(path), "experiment": grid.experiment, "seeds": ", ".join(map(str, grid.seeds)),
                  "variants": ", ".join(grid.variants)},
        notes=[f"Highest Kendall tau: {best['variant']} with mask {best['mask']} "
               f"({best['mean']:.3f} ± {best['std']:.3f} over {best['seeds']} seeds)."],
        tables=[Table("grid_summary.csv", "Ranking metrics per variant and mask (mean, std, p vs baseline)", table),
                Table("grid_curves.csv", "A_N and tau within each top-N per setting", curves, show=False)],
    )
    for mask in dict.fromkeys(key.split("|mask=")[1] for key in reports):
        chosen = {key.split("|")[0]: r for key, r in reports.items() if key.endswith(f"|mask={mask}")}
        result.plots.append(Plot(f"top_n_mask_{mask.replace('+', '_')}.png",
                                 f"A_N and tau within the top-N, mask={{{mask}}}",
                                 partial(plot_top_n_curves, chosen, title=f"mask={{{mask}}}")))
    return result
