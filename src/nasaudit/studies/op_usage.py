"""Op usage among the ground-truth top-N, each op masked once (single-path paper Fig. 3)."""

from __future__ import annotations

from functools import partial
from typing import Literal

from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study


class OpUsageSpec(StudySpec):
    """How many of the top-N architectures under ``evaluator`` use each op, for each op mask."""

    evaluator_fields = ("evaluator",)

    kind: Literal["op_usage"] = "op_usage"
    evaluator: str


@register_study("op_usage", OpUsageSpec, "op usage among the top-N under op masking (single-path Fig. 3)")
def run(context: StudyContext, spec: OpUsageSpec) -> StudyResult:
    """Usage and share of each op among the top-N, whole space and each op masked."""
    from nasaudit.analysis.op_usage import op_usage
    from nasaudit.report.figures_analysis import plot_op_usage

    archs, scores = context.population(spec.evaluator)
    usage = op_usage(context.space, archs, scores)
    return StudyResult(
        title=f"Op usage among the top-N ({spec.evaluator})",
        summary=("How many of the top-N architectures use each op at least once (usage) and each op's share "
                 "of all positions, for the whole space and with each op masked."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "architectures": len(archs)},
        tables=[Table("op_usage.csv", "Usage and share per op, top-N and mask", usage, show=False)],
        plots=[Plot("op_usage.png", "Op usage vs N", partial(plot_op_usage, usage))],
    )
