"""Small pieces several studies share: the test-as-validation note and OI computed once per run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasaudit.studies._base import StudyContext

if TYPE_CHECKING:
    import pandas as pd

TEST_AS_VALIDATION = ("The table's test accuracy stands in where the papers use validation accuracy "
                      "(the table has no validation column).")


def metric_notes(context: StudyContext, name: str) -> list[str]:
    """Notes about the metric of evaluator ``name``: test accuracy standing in for a validation column
    the table lacks, or naming the validation columns it has when the spec chose a test column."""
    scored = context.scored(name)
    if scored.column is None or "test" not in scored.column.lower():
        return []
    validation = [m for m in scored.benchmark.metrics if "val" in m.lower()] if scored.benchmark else []
    if not validation:
        return [TEST_AS_VALIDATION]
    return [f"Scored by the table's {scored.column}, as the spec asks; the table also has validation columns "
            f"({', '.join(validation[:3])}{', ...' if len(validation) > 3 else ''})."]


def top_operation_importance(context: StudyContext, name: str, top: float, threshold: float) -> pd.DataFrame:
    """OI of the top fraction under evaluator ``name``; computed once per run and shared by the studies."""
    from nasaudit.analysis.importance import operation_importance
    from nasaudit.analysis.ranking import top_fraction

    key = ("oi", name, top, threshold)
    if key not in context.memo:
        archs, scores = context.population(name)
        chosen, _ = top_fraction(archs, scores, top)
        scored = context.scored(name)
        context.memo[key] = operation_importance(scored.evaluator, chosen, units=scored.units, threshold=threshold)
    return context.memo[key]
