"""Fair comparison of search strategies with random search (search-phase paper Sec. 3.1, Fig. 1c, App. A.2)."""

from __future__ import annotations

from functools import partial
from typing import Literal

from pydantic import Field, field_validator

from nasaudit.registry import unknown_name_message
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import metric_notes

DEFAULT_STRATEGIES = ("random", "evolution", "local", "bananas")


class CompareSpec(StudySpec):
    """Strategies x seeds at one query budget against ``evaluator``, final archs scored by ``truth``."""

    evaluator_fields = ("evaluator", "truth")

    kind: Literal["compare"] = "compare"
    evaluator: str
    truth: str | None = None
    strategies: list[str] = Field(default_factory=lambda: list(DEFAULT_STRATEGIES), min_length=1)
    budget: int = Field(100, gt=0, le=10_000_000)
    seeds: int = Field(20, gt=0, le=100_000)
    #: rank final architectures among one representative per equivalence class (search-phase paper Sec. 4.1)
    deisomorphise: bool = False

    @field_validator("strategies")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return known_strategies(names)


def known_strategies(names: list[str]) -> list[str]:
    """``names`` if each is a registered strategy, once; else a ValueError naming the problem."""
    from nasaudit.search.registry import STRATEGIES

    for name in names:
        if name not in STRATEGIES:
            raise ValueError(unknown_name_message("strategy", name, STRATEGIES.names()))
    if len(set(names)) != len(names):
        raise ValueError(f"strategies must be distinct, got {names}")
    return names


@register_study("compare", CompareSpec, "search strategies vs random search at equal budget, many seeds")
def run(context: StudyContext, spec: CompareSpec) -> StudyResult:
    """Run every strategy once per seed and summarise against the ground truth of the whole space."""
    from nasaudit.metrics import expected_best_of_n
    from nasaudit.report.figures_search import plot_best_so_far
    from nasaudit.search.compare import run_comparison, summarise

    truth_name = spec.truth or spec.evaluator
    search = context.scored(spec.evaluator)
    truth = context.scored(truth_name)
    archs, space_scores = context.population(truth_name)
    if spec.deisomorphise:
        import numpy as np

        keys = [context.space.canonical(a) for a in archs]
        first = sorted({key: i for i, key in reversed(list(enumerate(keys)))}.values())
        space_scores = space_scores[np.asarray(first)]
    seeds = list(range(context.seed, context.seed + spec.seeds))
    comparison = run_comparison(context.space, search.evaluator, spec.strategies, spec.budget, seeds)
    summary = summarise(comparison, truth.evaluator, space_scores)
    title = f"Search vs random search ({spec.evaluator}"
    title += ")" if truth_name == spec.evaluator else f" as evaluator, scored by {truth_name})"
    result = StudyResult(
        title=title,
        summary=(f"Each strategy ran {spec.seeds} seeds at {spec.budget} queries against {search.description}; the "
                 f"final architectures are scored by {truth.description}. p_gt_random_per_run is the mean over seeds "
                 f"of (1 - rank/|space|)^budget, the chance that one run beats random search with the same budget; "
                 f"p_gt_random_best_of_runs is (1 - best rank/|space|)^runs, the form of the paper's Tables 3-4."),
        settings={"seed": context.seed, "space": context.space.name, "space_size": context.space.size,
                  "strategies": ", ".join(spec.strategies), "budget": spec.budget,
                  "seeds": f"{seeds[0]}..{seeds[-1]}", "search_evaluator": spec.evaluator, "truth": truth_name,
                  "ranked_among": f"{len(space_scores)} " + ("classes" if spec.deisomorphise else "architectures")},
        notes=[f"Expected best of {spec.budget} uniform random draws from the space: "
               f"{expected_best_of_n(space_scores, spec.budget):.3f}.", *metric_notes(context, truth_name)],
    )
    if spec.budget * 20 > len(space_scores):
        result.notes.append(f"The budget ({spec.budget}) is more than 5% of the {len(space_scores)} scored "
                            "architectures: p(>random) assumes random draws with replacement, which then "
                            "understates what random search without replacement achieves.")
    result.tables += [Table("summary.csv", "Strategies scored by ground truth", summary),
                      Table("trajectories.csv", "Every query of every run", comparison.trajectories(), show=False)]
    result.plots.append(Plot("best_so_far.png", "Best score so far vs queries (mean ± std over seeds)",
                             partial(plot_best_so_far, comparison.curves(),
                                     ylabel=f"best so far ({search.column or spec.evaluator})")))
    return result
