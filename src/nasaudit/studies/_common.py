"""Small pieces several studies share (so that study modules never import each other): the metric note, OI
computed once per run, strategy-name checks, the truth's seed-to-seed ceiling and agreement with the truth."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from nasaudit.registry import unknown_name_message
from nasaudit.studies._base import Scored, StudyContext

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from nasaudit.truth.tabular import TabularBenchmark

TEST_AS_VALIDATION = ("The table's test accuracy stands in where the papers use validation accuracy (this table "
                      "has no validation column; the shipped nb201 table answers metric valid_acc on cifar10).")

#: redundancy paper Sec. 3: |OI| >= 0.001 (accuracy as a fraction) marks an important operation
DEFAULT_THRESHOLD = 0.001
#: the top fraction of the space whose operations OI, FSM and the surrogate inspection look at
DEFAULT_TOP = 0.05
#: which end of the ranking OI and FSM look at: the best (Sec. 3-4) or the worst architectures (App. A)
Tail = Literal["best", "worst"]
#: the query-based strategies of the fair comparison (search-phase paper Sec. 3.1)
DEFAULT_STRATEGIES = ("random", "evolution", "local", "bananas")


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


def top_operation_importance(context: StudyContext, name: str, top: float, threshold: float,
                             tail: Tail = "best") -> pd.DataFrame:
    """OI of the top fraction under evaluator ``name`` (with ``tail="worst"`` the bottom fraction, App. A); computed
    once per run and shared by the studies."""
    from nasaudit.analysis.importance import operation_importance
    from nasaudit.analysis.ranking import bottom_fraction, top_fraction

    key = ("oi", name, top, threshold, tail)
    if key not in context.memo:
        archs, scores = context.population(name)
        chosen, _ = (top_fraction if tail == "best" else bottom_fraction)(archs, scores, top)
        scored = context.scored(name)
        context.memo[key] = operation_importance(scored.evaluator, chosen, units=scored.units, threshold=threshold)
    return context.memo[key]


def cells_label(cell: str) -> str:
    """How notes name the cells of an analysis table's ``cell`` value: ``normal cells``, or ``cells`` in a
    single-cell space (NB201)."""
    from nasaudit.analysis.operations import SINGLE_CELL

    return "cells" if cell == SINGLE_CELL else f"{cell} cells"


def known_strategies(names: list[str], *, weight_sharing: bool = False) -> list[str]:
    """``names`` if each is a registered strategy (or, with ``weight_sharing``, a weight-sharing method), once;
    else a ValueError naming the problem."""
    from nasaudit.search.registry import STRATEGIES
    from nasaudit.weight_sharing.base import WS_METHODS

    known = STRATEGIES.names() + (WS_METHODS.names() if weight_sharing else [])
    for name in names:
        if name not in known:
            raise ValueError(unknown_name_message("strategy", name, known))
    if len(set(names)) != len(names):
        raise ValueError(f"strategies must be distinct, got {names}")
    return names


def truth_ceiling(benchmark: TabularBenchmark, column: str, archs: list[Any]) -> pd.DataFrame | None:
    """Seed-to-seed tau of the truth, when the table has two or more per-seed columns of ``column`` (None for a
    table of one seed: it has no seed pair)."""
    from nasaudit.weight_sharing.supernet import ground_truth_ceiling

    base = column.removesuffix("_mean")
    if sum(m.startswith(f"{base}_seed") for m in benchmark.metrics) < 2:
        return None
    return ground_truth_ceiling(benchmark, base, archs)


def scored_ceiling(scored: Scored, archs: list[Any]) -> pd.DataFrame | None:
    """Seed-to-seed tau of a truth on ``archs``: a table's per-seed columns (``truth_ceiling``) or a ``train``
    evaluator's runs of each seed (trained if the store lacks them); None for one seed or another evaluator."""
    from nasaudit.truth.trained import TrainedEvaluator
    from nasaudit.weight_sharing.supernet.ranking import seed_pair_taus

    if isinstance(scored.evaluator, TrainedEvaluator):
        seeds = scored.evaluator.build.seeds
        if len(seeds) < 2:
            return None
        rows = scored.evaluator.per_seed(archs)
        return seed_pair_taus({str(seed): row for seed, row in zip(seeds, rows, strict=True)})
    if scored.benchmark is None or scored.column is None:
        return None
    return truth_ceiling(scored.benchmark, scored.column, archs)


def agreement(truth: np.ndarray, scores: np.ndarray, k: int) -> dict[str, float]:
    """tau, Spearman, tau over each top-N that fits, and P@K of ``scores`` against ``truth`` (NaNs left out)."""
    import numpy as np

    from nasaudit.metrics import PAPER_TOP_NS, kendall_tau, kendall_tau_topn, precision_at_k, spearman

    keep = np.isfinite(scores)
    a, b = truth[keep], scores[keep]
    row: dict[str, float] = {"scored": int(keep.sum()), "undefined": int((~keep).sum())}
    if a.size < 2:
        return row
    row.update(kendall_tau=kendall_tau(a, b), spearman=spearman(a, b))
    row.update({f"tau_top{n}": kendall_tau_topn(a, b, n) for n in PAPER_TOP_NS if 2 <= n <= a.size})
    if k < a.size:  # P@K of the whole population is 1 by definition
        row[f"p_at_{k}"] = precision_at_k(a, b, k)
    return row


def evaluator_ceiling(context: StudyContext, name: str, archs: list[Any]) -> pd.DataFrame | None:
    """The truth's seed-to-seed ceiling over those of ``archs`` that are rows of evaluator ``name``'s table (isomorphic
    cells answer through those rows), when it is a table with per-seed columns."""
    scored = context.scored(name)
    if scored.benchmark is None or scored.column is None:
        return None
    members = set(scored.benchmark.archs())
    return truth_ceiling(scored.benchmark, scored.column, [a for a in archs if a in members])
