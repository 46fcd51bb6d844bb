"""Frequent subgraphs of important operations (redundancy paper Fig. 7, Table 1, App. I)."""

from __future__ import annotations

from functools import partial
from typing import Literal

from pydantic import Field

from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import DEFAULT_THRESHOLD, DEFAULT_TOP, top_operation_importance

#: redundancy paper App. I: subgraphs present in at least 5% of the important subgraphs
DEFAULT_MIN_SUPPORT = 0.05


class SubgraphsSpec(StudySpec):
    """Connected subgraphs of the important-operation subgraphs of the top cells, ranked by support ratio."""

    evaluator_fields = ("evaluator",)

    kind: Literal["subgraphs"] = "subgraphs"
    evaluator: str
    top: float = Field(DEFAULT_TOP, gt=0, le=1)
    min_support: float = Field(DEFAULT_MIN_SUPPORT, gt=0, le=1)
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0, le=1)


@register_study("subgraphs", SubgraphsSpec, "frequent subgraphs of important operations (redundancy Sec. 3)")
def run(context: StudyContext, spec: SubgraphsSpec) -> StudyResult:
    """Mine frequent subgraphs of the important operations, ratio against random same-size subgraphs."""
    from nasaudit.analysis.subgraphs import important_subgraphs, mine_frequent_subgraphs
    from nasaudit.report.figures_analysis import plot_subgraphs

    oi = top_operation_importance(context, spec.evaluator, spec.top, spec.threshold)
    important, full = important_subgraphs(context.space, oi)
    mined = mine_frequent_subgraphs(important, full, min_support=spec.min_support, seed=context.seed)
    result = StudyResult(
        title=f"Frequent subgraphs of important operations ({spec.evaluator})",
        summary=(f"Connected subgraphs of the important-operation subgraphs of {len(important)} top cells with "
                 f"support >= {spec.min_support}, ranked by the ratio of their support to that among random "
                 "same-size subgraphs."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "top": spec.top,
                  "min_support": spec.min_support, "threshold": spec.threshold},
        tables=[Table("subgraphs.csv", "Frequent subgraphs, best ratio first", mined)],
    )
    if len(mined):
        result.plots.append(Plot("subgraphs.png", "Top subgraphs with support and ratio",
                                 partial(plot_subgraphs, mined)))
    return result
