"""Operation importance of the top of the space (redundancy paper Sec. 3, eq. 1, Fig. 3/4)."""

from __future__ import annotations

from functools import partial
from typing import Literal

from pydantic import Field

from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import DEFAULT_THRESHOLD, DEFAULT_TOP, metric_notes, top_operation_importance


class ImportanceSpec(StudySpec):
    """OI of every operation of the top ``top`` fraction of architectures under ``evaluator``."""

    evaluator_fields = ("evaluator",)

    kind: Literal["importance"] = "importance"
    evaluator: str
    top: float = Field(DEFAULT_TOP, gt=0, le=1)
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0, le=1)


@register_study("importance", ImportanceSpec, "operation importance of the top architectures (redundancy Sec. 3)")
def run(context: StudyContext, spec: ImportanceSpec) -> StudyResult:
    """OI = y(arch) - mean y(neighbours) for every operation of the top architectures."""
    from nasaudit.analysis.importance import importance_counts
    from nasaudit.report.figures_analysis import plot_importance_boxes, plot_operation_counts

    oi = top_operation_importance(context, spec.evaluator, spec.top, spec.threshold)
    return StudyResult(
        title=f"Operation importance ({spec.evaluator})",
        summary=(f"OI = y(arch) - mean y(neighbours) for every operation of the top {spec.top:.0%} architectures "
                 f"({oi['arch'].nunique()} archs, {len(oi)} operations); |OI| >= {spec.threshold} marks an "
                 "important one."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "top": spec.top, "threshold": spec.threshold,
                  "scores": context.scored(spec.evaluator).description},
        notes=metric_notes(context, spec.evaluator),
        tables=[Table("importance_counts.csv", "All vs important operations per primitive", importance_counts(oi)),
                Table("importance.csv", "OI of every operation", oi, show=False)],
        plots=[Plot("counts.png", "Operations per primitive: all vs important", partial(plot_operation_counts, oi)),
               Plot("boxes.png", "Distribution of OI per primitive",
                    partial(plot_importance_boxes, oi, threshold=spec.threshold))],
    )
