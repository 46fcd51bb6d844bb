"""The four PrimSkip groups compared (redundancy paper Sec. 4, Fig. 10, App. D Fig. 16)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study

if TYPE_CHECKING:
    import pandas as pd

#: spaces up to this size locate the global optimum exhaustively
OPTIMUM_LIMIT = 100_000
#: what the paper found (Sec. 4, Fig. 10 on NB301; App. D, Fig. 16 on NB201)
PAPER_GROUPS = ("Paper (Sec. 4, Fig. 10; App. D, Fig. 16): both constraints narrow the spread of the scores, and the "
                "PrimSkip group performs like the state of the art (NB301: under 1% of its training set beats the "
                "group's mean predicted test error of 5.24%).")


class PrimSkipSpec(StudySpec):
    """``samples`` seeded architectures per group (none, Skip only, Prim only, PrimSkip) under ``evaluator``."""

    evaluator_fields = ("evaluator",)

    kind: Literal["primskip"] = "primskip"
    evaluator: str
    samples: int = Field(50, gt=0, le=1_000_000)


@register_study("primskip", PrimSkipSpec, "PrimSkip groups and where the optimum lies (redundancy Sec. 4)")
def run(context: StudyContext, spec: PrimSkipSpec) -> StudyResult:
    """Score seeded samples of each group; locate the space's optimum among the groups."""
    from nasaudit.analysis.primskip import group_summary, optimum_vs_groups, primskip_study
    from nasaudit.report.figures_analysis import plot_primskip

    scored = context.scored(spec.evaluator)
    study = primskip_study(scored.evaluator, n_per_group=spec.samples, seed=context.seed)
    result = StudyResult(
        title=f"PrimSkip groups ({spec.evaluator})",
        summary=(f"{spec.samples} seeded samples per group (no constraint, Skip only, Prim only, PrimSkip), "
                 f"scored by {scored.description}."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "samples_per_group": spec.samples},
        tables=[Table("summary.csv", "Score distribution per group", group_summary(study))],
        notes=[PAPER_GROUPS, _groups_verdict(group_summary(study))],
    )
    optimum = None
    if context.space.size <= OPTIMUM_LIMIT:
        archs, scores = context.population(spec.evaluator)
        located = optimum_vs_groups(context.space, archs, scores, study)
        optimum = float(located["optimum_score"].iloc[0])
        inside = bool(located.set_index("group")["optimum_in_group"].get("primskip", False))
        result.notes.append(f"The space's optimum ({located['optimum'].iloc[0]}, {optimum:.3f}) is "
                            f"{'inside' if inside else 'outside'} the PrimSkip group.")
        result.tables.append(Table("optimum.csv", "Where the global optimum falls", located))
    result.tables.append(Table("samples.csv", "Every sampled architecture", study, show=False))
    result.plots.append(Plot("groups.png", "Scores per group",
                             partial(plot_primskip, study, optimum=optimum, score_label=scored.description)))
    return result


def _groups_verdict(summary: pd.DataFrame) -> str:
    """Ours against ``PAPER_GROUPS``: is PrimSkip's mean the highest, and its spread narrower than random's?"""
    by_group = summary.set_index("group")
    if not {"random", "primskip"} <= set(by_group.index):
        return "Ours: the groups run here leave out random or PrimSkip, so the paper's comparison is not made."
    best = str(by_group["mean"].idxmax())
    means = ", ".join(f"{group} {row['mean']:.3f} +- {row['std']:.3f}" for group, row in by_group.iterrows())
    narrower = by_group.at["primskip", "std"] < by_group.at["random", "std"]
    highest = "holds" if best == "primskip" else f"does not hold ({best} is higher)"
    return (f"Ours (mean +- std): {means}. PrimSkip has the highest mean: {highest}; its spread is narrower than "
            f"random's: {'holds' if narrower else 'does not hold'}.")
