"""Search-space analyses: operation importance, frequent subgraphs, PrimSkip, op usage, cell shape.

Every analysis takes archs and an ``Evaluator`` (or ground-truth scores) and returns tidy pandas
tables; plotting lives apart in ``nasaudit.report.figures_analysis``.
"""

from nasaudit.analysis.cell_shape import (
    CellShape,
    cell_shape,
    random_connection_variants,
    random_operation_variants,
    shape_table,
)
from nasaudit.analysis.importance import (
    IMPORTANCE_THRESHOLD,
    importance_agreement,
    importance_counts,
    operation_importance,
)
from nasaudit.analysis.op_usage import op_usage
from nasaudit.analysis.primskip import (
    PrimSkipEdit,
    group_summary,
    minimal_primskip_edit,
    optimum_vs_groups,
    primskip_study,
)
from nasaudit.analysis.ranking import top_fraction
from nasaudit.analysis.subgraphs import important_subgraphs, mine_frequent_subgraphs, pattern_to_networkx

__all__ = [
    "IMPORTANCE_THRESHOLD",
    "CellShape",
    "PrimSkipEdit",
    "cell_shape",
    "group_summary",
    "importance_agreement",
    "importance_counts",
    "important_subgraphs",
    "mine_frequent_subgraphs",
    "minimal_primskip_edit",
    "op_usage",
    "operation_importance",
    "optimum_vs_groups",
    "pattern_to_networkx",
    "primskip_study",
    "random_connection_variants",
    "random_operation_variants",
    "shape_table",
    "top_fraction",
]
