"""Fair comparison of search strategies with random search (search-phase paper Sec. 3.1, Fig. 1c, App. A.2):
query-based strategies and weight-sharing methods side by side, final architectures scored by the truth."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from nasaudit.studies._announce import announce_training
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import DEFAULT_STRATEGIES, known_strategies, metric_notes, scored_ceiling
from nasaudit.studies._ws_compare import WeightSharingSettings

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    import numpy as np

    from nasaudit.evaluators import Evaluator
    from nasaudit.spaces.base import SearchSpace


#: strategies that learn from the values of the search scores (a fitted predictor, a policy gradient), not only
#: from their order: an undefined score has no value to learn from
VALUE_LEARNERS = ("bananas", "reinforce")


class UndefinedLast:
    """``evaluator`` with its undefined scores (NaN: e.g. the NWOT or Zen proxy of a cell whose output does not
    depend on its input) as -inf, so a strategy ranks them below every defined score, as the proxies' releases
    do with their -inf (an argmax over NaN would pick the NaN; docs/proxies.md). For ``strategy`` among
    ``VALUE_LEARNERS`` an undefined score is a one-line ``DataError`` instead."""

    def __init__(self, evaluator: Evaluator, name: str, strategy: str) -> None:
        self.evaluator, self.name, self.strategy = evaluator, name, strategy

    @property
    def space(self) -> SearchSpace:
        return self.evaluator.space

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        import numpy as np

        from nasaudit.errors import DataError

        scores = np.asarray(self.evaluator.evaluate(archs), dtype=np.float64)
        undefined = np.isnan(scores)
        if undefined.any() and self.strategy in VALUE_LEARNERS:
            first = self.space.format(archs[int(np.argmax(undefined))])
            raise DataError(f"{self.strategy} learns from the values of {self.name}'s scores, and {self.name} is "
                            f"undefined for {first}; search it with random, local or "
                            "evolution, which rank undefined scores last, or use a search evaluator defined for "
                            "every architecture")
        return np.where(undefined, -np.inf, scores)


def _run_queried(space: SearchSpace, evaluator: Evaluator, name: str, strategies: list[str], budget: int,
                 seeds: list[int]) -> Any:
    """``run_comparison`` of every strategy, each querying ``evaluator`` through its own ``UndefinedLast``."""
    from nasaudit.search.compare import Comparison, run_comparison

    runs = {}
    for strategy in strategies:
        runs.update(run_comparison(space, UndefinedLast(evaluator, name, strategy), [strategy], budget, seeds).runs)
    return Comparison(budget, tuple(seeds), runs)


class CompareSpec(StudySpec):
    """Strategies x seeds at one query budget against ``evaluator``, final archs scored by ``truth``.

    ``strategies`` may name query-based strategies (``random``, ``evolution``, ``local``, ``bananas``,
    ``reinforce``) and weight-sharing methods (``nasaudit.weight_sharing.base.WS_METHODS``: ``darts_alpha``,
    ``darts_pt``, ``gdas``, ``spos_evolution``, ``enas``, ...), which train supernets as ``weight_sharing`` says
    (each with its own settings under ``weight_sharing.methods``). ``within_truth`` searches only the
    architectures the truth table holds (with their isomorphic twins): a reduced space in which every final
    architecture has a ground truth (search-phase paper Sec. 3.2).
    """

    evaluator_fields = ("evaluator", "truth")

    kind: Literal["compare"] = "compare"
    evaluator: str
    truth: str | None = None
    strategies: list[str] = Field(default_factory=lambda: list(DEFAULT_STRATEGIES), min_length=1)
    budget: int = Field(100, gt=0, le=10_000_000)
    seeds: int = Field(20, gt=0, le=100_000)
    #: rank final architectures among one representative per equivalence class (search-phase paper Sec. 4.1)
    deisomorphise: bool = False
    within_truth: bool = False
    weight_sharing: WeightSharingSettings = Field(default_factory=WeightSharingSettings)

    @field_validator("strategies")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return known_strategies(names, weight_sharing=True)

    def check(self, space: SearchSpace, base_dir: Path) -> list[str]:
        from nasaudit.studies._ws_compare import check_methods
        from nasaudit.weight_sharing.base import WS_METHODS

        problems = ([f"reinforce samples NB201 cells, not {space.name!r} cells"]
                    if "reinforce" in self.strategies and space.family != "nb201" else [])
        methods = [s for s in self.strategies if s in WS_METHODS]
        return problems + check_methods(methods, space, self.weight_sharing, self.within_truth, base_dir)


@register_study("compare", CompareSpec, "search strategies and weight-sharing methods vs random search, many seeds")
def run(context: StudyContext, spec: CompareSpec) -> StudyResult:
    """Run every strategy once per seed and summarise against the ground truth of the whole space."""
    import numpy as np

    from nasaudit.metrics import expected_best_of_n
    from nasaudit.report.figures_search import plot_best_so_far
    from nasaudit.search.compare import summarise_scores
    from nasaudit.search.registry import STRATEGIES
    from nasaudit.spaces.base import ENUMERATION_LIMIT
    from nasaudit.studies import _ws_compare as ws

    truth_name = spec.truth or spec.evaluator
    search = context.scored(spec.evaluator)
    truth = context.scored(truth_name)
    space = context.space
    queried = [s for s in spec.strategies if s in STRATEGIES]
    shared = [s for s in spec.strategies if s not in STRATEGIES]
    # the truth table's architectures in the audit's space: the reduced space and the set supernets rank
    reduced_note = None
    inside = ([a for a in truth.benchmark.archs() if space.contains(a)]
              if truth.benchmark is not None and (spec.within_truth or shared) else None)
    if spec.within_truth:
        space = ws.reduced_space(context.space, truth_name, inside)
        archs = list(space.enumerate())
        space_scores = np.asarray(truth.evaluator.evaluate(archs), dtype=np.float64)
        if context.space.size > ENUMERATION_LIMIT:
            reduced_note = (f"The {context.space.name!r} space is too large to enumerate, so the reduced space is the "
                            f"truth table's {space.size} architectures themselves, one per equivalence class (their "
                            "isomorphic twins outside the table are not members).")
    else:
        archs, space_scores = context.population(truth_name)
    ranked_scores = space_scores
    if spec.deisomorphise:
        keys = [context.space.canonical(a) for a in archs]
        first = sorted({key: i for i, key in reversed(list(enumerate(keys)))}.values())
        ranked_scores = space_scores[np.asarray(first)]
    seeds = list(range(context.seed, context.seed + spec.seeds))
    finals: dict[str, list[Any]] = {}
    comparison = None
    if queried:
        comparison = _run_queried(space, search.evaluator, spec.evaluator, queried, spec.budget, seeds)
        finals.update({name: comparison.final_archs(name) for name in queried})
    result = StudyResult(
        title=f"Search vs random search ({spec.evaluator}"
              + (")" if truth_name == spec.evaluator else f" as evaluator, scored by {truth_name})"),
        summary="",
        settings={"seed": context.seed, "space": context.space.name, "space_size": space.size,
                  "strategies": ", ".join(spec.strategies), "budget": spec.budget,
                  "seeds": f"{seeds[0]}..{seeds[-1]}", "search_evaluator": spec.evaluator, "truth": truth_name,
                  "ranked_among": f"{len(ranked_scores)} " + ("classes" if spec.deisomorphise else "architectures")},
        notes=[f"Expected best of {spec.budget} uniform random draws from the space: "
               f"{expected_best_of_n(ranked_scores, spec.budget):.3f}.", *metric_notes(context, spec.evaluator)],
    )
    if reduced_note is not None:
        result.notes.append(reduced_note)
    costs = {name: _query_cost(context, spec.evaluator, spec.budget) for name in queried}
    results = None
    one, missing = None, ""
    work: dict[str, float] = {}
    if shared:
        ranked, ranked_truth = ws.ranked_architectures(context, archs if inside is None else inside, space,
                                                       truth_name, spec.weight_sharing.rank_set)
        within = [context.space.format(a) for a in inside or []] if spec.within_truth else []
        setup = ws.make_setup(context, spec.weight_sharing, within, [context.space.format(a) for a in ranked])
        methods = ws.methods_of(shared, spec.weight_sharing)
        results = ws.run_methods(context, methods, setup, seeds)
        finals.update(ws.finals_of(results, shared))
        work = {method.name: method.cost(setup) for method in methods}
        costs.update({method.name: f"{method.describe_cost(setup, space.family)}; {work[method.name]:.4g} "
                      "multiply-adds per seed" for method in methods})
        one, missing = ws.standalone_training(context, truth_name, truth, ranked)
        result.settings.update({"ws_dataset": spec.weight_sharing.dataset, "ws_preset": spec.weight_sharing.preset,
                                "ws_epochs": spec.weight_sharing.epochs,
                                "ws_supernet": f"{setup.describe_sizes(space.family)} (every method)",
                                "ws_ranked_archs": len(ranked)})
    announce_training(context, truth_name, truth, [a for found in finals.values() for a in found],
                      "the final architectures")
    final_scores = {name: np.asarray(truth.evaluator.evaluate(list(found)), dtype=np.float64)
                    for name, found in finals.items()}
    summary = summarise_scores(final_scores, spec.budget, ranked_scores)
    summary.insert(1, "weight_sharing", [name in shared for name in summary["strategy"]])
    summary["cost"] = [costs[name] for name in summary["strategy"]]
    if shared and one is not None:
        ws.add_equal_cost_columns(summary, final_scores, ranked_scores, work, one)
        result.notes.append(
            "cost_in_trainings: the counted work of one seed of the method over one stand-alone training of the "
            "truth's recipe; equal_cost_queries: that many trainings, rounded, at least 1 "
            f"(one training: {one.describe()} multiply-adds, the mean over the ranked "
            "architectures; a method's work: forward multiply-adds x images of its supernet steps, a step counted "
            "as 3 forward passes, and of its selection queries; nasaudit.weight_sharing.cost); "
            "p_gt_random_at_equal_cost is p_gt_random_per_run against random search with that many queries: the "
            "search-phase paper's comparison at equal cost. Counted, not timed, so the same spec gives the same "
            "numbers anywhere; the measured seconds are in timing.csv, the one file that differs between runs.")
    elif shared:
        result.notes.append(f"No equal-cost comparison: {missing}. The measured seconds of every seed are in "
                            "timing.csv (machine-dependent).")
    result.summary = (
        f"Each strategy ran {spec.seeds} seeds; query-based strategies spent {spec.budget} queries of "
        f"{search.description}"
        + (f", weight-sharing methods {spec.weight_sharing.epochs} supernet epochs each on "
           f"{spec.weight_sharing.dataset} with one supernet size for all (their cost column states the size, every "
           "query and the multiply-adds they spent)"
           if shared else "")
        + f". The final architectures are scored by {truth.description}"
        + (f", inside the reduced space of the {space.size} architectures whose classes the truth table holds"
           if spec.within_truth else "")
        + f". Random search is the baseline at {spec.budget} truth queries: p_gt_random_per_run is the mean over "
          f"seeds of (1 - rank/|space|)^{spec.budget}, the chance that one run beats it; p_gt_random_best_of_runs "
          f"is (1 - best rank/|space|)^runs, the form of the paper's Tables 3-4.")
    proxy_timing = _proxy_queries(context, result, comparison, search.evaluator, spec.evaluator, truth_name)
    if spec.budget * 20 > len(ranked_scores):
        result.notes.append(f"The budget ({spec.budget}) is more than 5% of the {len(ranked_scores)} scored "
                            "architectures: p(>random) assumes random draws with replacement, which then "
                            "understates what random search without replacement achieves.")
    result.tables.append(Table("summary.csv", "Strategies scored by ground truth", summary))
    if spec.weight_sharing.best_of:
        result.tables.append(_best_of_n(spec.weight_sharing.best_of, final_scores, ranked_scores))
    if comparison is not None:
        result.tables.append(Table("trajectories.csv", "Every query of every run", comparison.trajectories(),
                                   show=False))
        result.plots.append(Plot("best_so_far.png", "Best score so far vs queries (mean ± std over seeds)",
                                 partial(plot_best_so_far, comparison.curves(),
                                         ylabel=f"best so far ({search.column or spec.evaluator})")))
    timing = [] if proxy_timing is None else [proxy_timing]
    if results is not None:
        _weight_sharing_sections(context, result, results, summary, finals, final_scores, truth_name, ranked,
                                 ranked_truth, shared)
        timing.insert(0, ws.timing_table(results))
    if timing:  # measured seconds: the one file of the section that differs between runs
        import pandas as pd

        result.tables.append(timing[0] if len(timing) == 1 else Table(
            "timing.csv", "Measured seconds of every weight-sharing seed and of every run's proxy queries "
            "(machine-dependent: the only file of this section that differs between runs)",
            pd.concat([table.frame for table in timing], ignore_index=True), show=False))
    return result


def _best_of_n(ns: list[int], final_scores: dict[str, np.ndarray], ranked_scores: np.ndarray) -> Table:
    """``best_of_n.csv`` (search-phase paper App. D.2): per N and strategy, the expected truth of the best of N uniform
    random architectures of the ranked set (with replacement, as the note of the budget's expected best) beside the
    strategy's mean final truth and the fraction of its seeds whose final is above that expectation."""
    import numpy as np
    import pandas as pd

    from nasaudit.metrics import expected_best_of_n

    rows = []
    for n in ns:
        expected = expected_best_of_n(ranked_scores, n)
        for name, scores in final_scores.items():
            rows.append({"n": n, "random_best_of_n": expected, "strategy": name, "final_mean": float(np.mean(scores)),
                         "seeds": int(scores.size), "fraction_above": float(np.mean(scores > expected))})
    return Table("best_of_n.csv", "The best of N random architectures, each trained with the truth's protocol, "
                 "beside each strategy's finals (App. D.2: N = 8 is DARTS's random policy, N = 10 one per seed over "
                 "10 seeds): fraction_above is the fraction of seeds whose final's truth exceeds that expectation",
                 pd.DataFrame(rows))


def _query_cost(context: StudyContext, name: str, budget: int) -> str:
    """What a query-based strategy spent, in the words of its evaluator's kind: a proxy query builds an untrained
    network, a surrogate's queries stand on the truth queries it was fit on."""
    config = context.evaluator_spec(name)
    kind = getattr(config, "kind", None)
    if kind == "proxy":
        return f"{budget} queries of {name} (zero-cost proxy {config.proxy}: an untrained network each, no training)"
    if kind == "surrogate":
        return (f"{budget} queries of {name} ({config.model} surrogate, fit once on {config.samples} queries of "
                f"{config.fit_on})")
    return f"{budget} queries of {name}"


def _proxy_queries(context: StudyContext, result: StudyResult, comparison: Any, evaluator: Any, name: str,
                   truth_name: str) -> Table | None:
    """For a zero-cost proxy as the search evaluator: a note with the number of proxy evaluations (counted, so the
    same anywhere) and the measured seconds of every run's queries as a machine-dependent table (the seconds the
    store recorded when each score was computed: ``ProxyEvaluator.seconds``). None for any other evaluator."""
    import pandas as pd

    from nasaudit.proxies.evaluator import ProxyEvaluator

    if comparison is None or not isinstance(evaluator, ProxyEvaluator):
        return None
    import numpy as np

    runs = [run for runs in comparison.runs.values() for run in runs]
    distinct = {context.space.format(a): a for run in runs for a in run.archs}
    undefined = int(np.isnan(evaluator.evaluate(list(distinct.values()))).sum())
    result.notes.append(
        f"The search evaluator {name} is the zero-cost proxy {evaluator.setting.proxy}: each query scores an untrained "
        f"network on one batch of {evaluator.setting.batch_size} {evaluator.setting.dataset} images, no training. "
        f"The runs made {sum(len(run.archs) for run in runs)} proxy queries, {len(distinct)} distinct architectures "
        f"scored ({undefined} of them undefined, ranked below every defined score), and one query of {truth_name} "
        f"each (its final architecture); the random-search baseline of p_gt_random spends all {comparison.budget} "
        f"of its queries on {truth_name}. The measured seconds of every run's proxy queries are in timing.csv "
        "(machine-dependent).")
    rows = []
    for run in runs:
        seconds = float(evaluator.seconds(list(run.archs)).sum())
        rows.append({"training": f"{run.strategy} ({evaluator.setting.proxy} queries)", "seed": run.seed,
                     "seconds": seconds, "queries": len(run.archs), "seconds_per_query": seconds / len(run.archs)})
    return Table("timing.csv", f"Measured seconds of every run's {evaluator.setting.proxy} queries, each as the "
                 "store recorded it when the score was computed (machine-dependent: the only file of this section "
                 "that differs between runs)", pd.DataFrame(rows), show=False)


def _weight_sharing_sections(context: StudyContext, result: StudyResult, results: Any, summary: Any,
                             finals: dict[str, list[Any]], final_scores: dict[str, Any], truth_name: str,
                             ranked: list[Any], ranked_truth: Any, shared: list[str]) -> None:
    """Each method's own ranking vs the truth, its ceiling, the finals and the with/without-WS rows."""
    import pandas as pd

    from nasaudit.studies import _ws_compare as ws

    truth = context.scored(truth_name)
    epochs, taus, plots = ws.ranking_tables(results, [context.space.format(a) for a in ranked], ranked_truth)
    ceiling = scored_ceiling(truth, ranked)
    if ceiling is not None:
        taus["truth_seed_to_seed_tau"] = float(ceiling["kendall_tau"].mean())
        result.notes.append(
            f"Ceiling: the truth's own seed-to-seed Kendall tau on the {len(ranked)} ranked architectures is "
            f"{ceiling['kendall_tau'].mean():.3f}; no supernet can be expected to rank them better.")
    result.tables.append(Table("ws_ranking.csv", "Each method's supernet ranking of the ranked set at its last "
                               "epoch: Kendall tau vs the truth over seeds, beside the truth's own seed-to-seed tau",
                               taus))
    result.tables.append(Table("ws_epochs.csv", "Kendall tau and Spearman rho after each ranked epoch",
                               epochs, show=False))
    result.plots += plots
    rows = [{"strategy": name, "seed": context.seed + i, "arch": str(arch), "truth": float(score)}
            for name, archs in finals.items() for i, (arch, score) in enumerate(zip(archs, final_scores[name],
                                                                                       strict=True))]
    result.tables.append(Table("finals.csv", "The final architecture of every seed, scored by the truth",
                               pd.DataFrame(rows), show=False))
    paired = ws.with_without(summary, final_scores, shared)
    if paired is not None:
        result.tables.append(paired)
