"""Accuracy against cost: the truth's Pareto front, the fronts query-based searches find, and search under a
parameter budget (redundancy paper App. G, Fig. 32: 2-D fronts of accuracy against parameters and FLOPs).

App. G samples 1,000 DARTS cells of two PrimSkip groups through a surrogate and compares their fronts by eye; it
computes no hypervolume and runs no search, so no authors' code is followed. Here the front is that of the whole
population of the space (every NB201 cell), its quality is the exact 2-D hypervolume up to a reference point just
beyond the front's worst accuracy and highest cost, and each search's front is the non-dominated set of the cells it
queried, scored as the fraction of the truth's hypervolume it reaches. ``max_params`` adds "best accuracy under a
parameter budget": each strategy searches inside the feasible cells (a ``SubsetSpace``: samples and moves never leave
it), against the truth's best under the budget, beside the best feasible cell the unconstrained searches queried.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from nasaudit.limits import MAX_CHANNELS, MAX_QUERIES, MAX_RUNS
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import DEFAULT_STRATEGIES, known_strategies, metric_notes

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from nasaudit.search.compare import Comparison
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.studies._base import Scored

#: what App. G states (Fig. 32 gives scatter plots only; no number is stated)
PAPER_FINDING = ("Paper (redundancy App. G, Fig. 32): 1,000 sampled DARTS cells of the PrimSkip group and of "
                 "PrimSkip+Pool (skip chosen with probability p in [0, 1]) give \"broadly comparable Pareto "
                 "front[s] for both groups (in terms of FLOPs, PrimSkip seems to find marginally more Pareto "
                 "efficient solutions)\": pooling stays redundant for the accuracy-cost trade-off. No hypervolume "
                 "or number is stated, and no search is run.")
#: strategies that cannot keep to the cells under a parameter budget
UNCONSTRAINABLE = {"reinforce": "the ENAS controller samples every NB201 edge over all of the space's ops, so it "
                                "cannot keep to the cells under max_params"}
Objective = Literal["params", "flops", "latency"]
#: the hypervolume's reference point lies this fraction of the front's span beyond the front's worst values
MARGIN = 0.1


class ParetoSpec(StudySpec):
    """The Pareto front of ``evaluator`` (accuracy, maximised) against ``objective`` (a cost, minimised) over the
    population, and the fronts ``strategies`` find in ``seeds`` runs of ``budget`` queries (App. G).

    ``objective`` is read from the truth table's column of that name when it has one; else ``params`` and ``flops``
    are counted on the network of ``classes`` classes and ``in_channels`` x ``image_size``^2 images
    (``nasaudit.analysis.objectives``), and ``latency`` needs a table column. ``latency: true`` also measures CPU
    latency of ``latency_archs`` seeded cells (``latency.csv``, machine-dependent, kept out of every other file).
    ``within_truth`` takes the population (and the search space) to be the table's own architectures.
    """

    evaluator_fields = ("evaluator",)

    kind: Literal["pareto"] = "pareto"
    evaluator: str
    objective: Objective = "params"
    strategies: list[str] = Field(default_factory=lambda: list(DEFAULT_STRATEGIES), min_length=1)
    budget: int = Field(100, gt=0, le=MAX_QUERIES)
    seeds: int = Field(10, gt=0, le=MAX_RUNS)
    within_truth: bool = False
    max_params: float | None = Field(None, gt=0, le=1e12)
    latency: bool = False
    latency_archs: int = Field(200, ge=1, le=5_000)
    latency_repeats: int = Field(10, ge=1, le=1_000)
    classes: int = Field(10, ge=1, le=100_000)
    image_size: int = Field(32, ge=1, le=1024)
    in_channels: int = Field(3, ge=1, le=MAX_CHANNELS)

    @field_validator("strategies")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return known_strategies(names)

    def check(self, space: SearchSpace, base_dir: Path) -> list[str]:
        problems = []
        if "reinforce" in self.strategies and space.family != "nb201":
            problems.append(f"reinforce samples NB201 cells, not {space.name!r} cells")
        if "reinforce" in self.strategies and self.max_params is not None:
            problems.append(f"max_params searches inside the cells under the budget; {UNCONSTRAINABLE['reinforce']}")
        return problems


@register_study("pareto", ParetoSpec, "accuracy vs params/FLOPs: Pareto fronts, hypervolume, budgeted search (App. G)")
def run(context: StudyContext, spec: ParetoSpec) -> StudyResult:
    """The truth's front and hypervolume, each strategy's found front, and the parameter-budget search."""
    import numpy as np

    from nasaudit.analysis.objectives import NetworkShape
    from nasaudit.errors import ConfigError
    from nasaudit.metrics import hypervolume, non_dominated
    from nasaudit.report.figures_pareto import plot_pareto_front
    from nasaudit.search.compare import run_comparison

    problems = spec.check(context.space, context.resolve("."))
    if problems:
        raise ConfigError(f"pareto: {problems[0]}")
    scored = context.scored(spec.evaluator)
    shape = NetworkShape(spec.classes, spec.image_size, spec.in_channels)
    space, archs, accuracy, dropped = _population(context, spec, scored)
    cost_of, source = _objective(scored, space, spec.objective, shape)
    params_of = (_objective(scored, space, "params", shape)[0] if spec.max_params is not None
                 and spec.objective != "params" else cost_of)
    cost = cost_of(archs)
    directions = ["max", "min"]
    front = non_dominated(np.column_stack([accuracy, cost]), directions)
    reference = _reference(accuracy, cost, front)
    truth_hv = hypervolume(np.column_stack([accuracy[front], cost[front]]), reference, directions)
    seeds = list(range(context.seed, context.seed + spec.seeds))
    budget = min(spec.budget, space.size)
    comparison = run_comparison(space, scored.evaluator, spec.strategies, budget, seeds)
    members = {archs[i] for i in np.flatnonzero(front)}
    runs, found = _run_fronts(comparison, cost_of, members, reference, truth_hv)
    label = scored.column or spec.evaluator
    result = StudyResult(
        title=f"Pareto front: {label} against {spec.objective} ({spec.evaluator})",
        summary=(f"The truth's Pareto front of {label} (maximised) against {spec.objective} (minimised, {source}) "
                 f"over {len(archs):,} architectures of {context.space.name}"
                 + (" (the table's own)" if spec.within_truth else "")
                 + f", and the front each of {', '.join(spec.strategies)} found among the cells it queried in "
                   f"{spec.seeds} seeds of {budget} queries of {scored.description}: its hypervolume as a fraction "
                   "of the truth's, against random search."),
        settings={"seed": context.seed, "space": context.space.name, "evaluator": spec.evaluator,
                  "objective": spec.objective, "objective_source": source, "population": len(archs),
                  "strategies": ", ".join(spec.strategies), "budget": budget,
                  "seeds": f"{seeds[0]}..{seeds[-1]}",
                  "hypervolume_reference": f"({reference[0]:.6g}, {reference[1]:.6g})"},
        tables=[Table("truth.csv", "The truth's front: its size, hypervolume and ends", _truth_row(
                    archs, accuracy, cost, front, truth_hv, reference, space)),
                Table("front_summary.csv", "Per strategy: hypervolume of the front found among its queried cells "
                      "as a fraction of the truth's (mean ± std over seeds), and Welch's t-test against random "
                      "search", _front_summary(runs)),
                Table("front.csv", "The truth's Pareto front, cheapest first", _front_table(
                    archs, accuracy, cost, front, space, label, spec.objective)),
                Table("runs.csv", "Per strategy and seed: the found front's size, hypervolume and fraction, and how "
                      "many of its cells are on the truth's front", runs, show=False)],
        plots=[Plot("pareto.png", f"{label} against {spec.objective}: every architecture, the truth's front, and "
                    f"the front each strategy found in seed {seeds[0]}",
                    partial(plot_pareto_front, cost, accuracy, front, xlabel=spec.objective, ylabel=label,
                            found={name: fronts[0] for name, fronts in found.items()}))],
        notes=[PAPER_FINDING,
               f"Hypervolume: the exact area dominated by a front and bounded by the reference point, the truth "
               f"front's lowest {label} and highest {spec.objective} each moved {MARGIN:.0%} of the front's span "
               "further out (cells beyond it count for nothing); a fraction is invariant to the objectives' units. "
               "A search's front is the non-dominated set of every cell it queried.",
               *metric_notes(context, spec.evaluator)],
    )
    if dropped:
        result.notes.append(f"{dropped} architecture(s) without a finite {label} were left out of the population.")
    if budget < spec.budget:
        result.notes.append(f"The budget was cut from {spec.budget} to {budget}, the size of the population.")
    if spec.max_params is not None:
        params = cost if params_of is cost_of else params_of(archs)
        _budgeted(result, spec, space, archs, accuracy, params, params_of, comparison, seeds, scored)
    if spec.latency:
        _latency(result, context, spec, space, archs, accuracy, cost, shape)
    return result


def _population(context: StudyContext, spec: ParetoSpec, scored: Scored
                ) -> tuple[SearchSpace, list[Any], np.ndarray, int]:
    """The searched space, its population with finite accuracy, and how many were dropped as NaN."""
    import numpy as np

    from nasaudit.errors import ConfigError
    from nasaudit.spaces.subset import SubsetSpace

    space = context.space
    if spec.within_truth:
        if scored.benchmark is None:
            raise ConfigError(f"within_truth needs a table evaluator; {spec.evaluator!r} is not one")
        inside = [a for a in scored.benchmark.archs() if space.contains(a)]
        if not inside:
            raise ConfigError(f"the table of {spec.evaluator!r} holds no architecture of space {space.name!r}")
        space = SubsetSpace(space, inside)
        archs = list(space.enumerate())
        accuracy = np.asarray(scored.evaluator.evaluate(archs), dtype=np.float64)
    else:
        archs, accuracy = context.population(spec.evaluator)
    keep = np.isfinite(accuracy)
    if keep.sum() < 2:
        raise ConfigError(f"pareto needs at least 2 architectures with a finite {spec.evaluator!r} score")
    kept = [a for a, k in zip(archs, keep, strict=True) if k]
    if not keep.all() and spec.within_truth:
        space = SubsetSpace(context.space, kept)
    return space, kept, accuracy[keep], int((~keep).sum())


def _objective(scored: Scored, space: SearchSpace, name: str, shape: Any
               ) -> tuple[Callable[[list[Any]], np.ndarray], str]:
    """How to get ``name`` of any architectures: the truth table's column of that name, else counted."""
    import numpy as np

    from nasaudit.analysis.objectives import COUNTED, count_objective
    from nasaudit.errors import ConfigError

    table = scored.benchmark
    if table is not None and name in table.metrics:
        return (lambda archs: np.asarray(table.query(archs, name, resolve="canonical"), dtype=np.float64),
                f"the truth table's {name!r} column")
    if name not in COUNTED:
        raise ConfigError(f"objective {name!r} is read from a truth-table column of that name, which "
                          f"{'this evaluator has no table' if table is None else 'the table lacks'}; measured "
                          "CPU latency is the option latency: true (latency.csv)")
    where = ("nasaudit.nn.count_parameters" if name == "params" else "nasaudit.nn.count_flops (multiply-adds)")
    return (partial(count_objective, space, name=name, shape=shape),
            f"counted by {where} on the {space.family} network, {shape.classes} classes, "
            f"{shape.in_channels}x{shape.image_size}x{shape.image_size} input")


def _reference(accuracy: np.ndarray, cost: np.ndarray, front: np.ndarray) -> tuple[float, float]:
    """The front's nadir (its lowest accuracy, highest cost) moved ``MARGIN`` of the front's span further out, so
    that the front's ends count too; a front of one point uses the population's spans."""
    worst, costliest = float(accuracy[front].min()), float(cost[front].max())
    span_accuracy = float(accuracy[front].max()) - worst or float(accuracy.max() - accuracy.min())
    span_cost = costliest - float(cost[front].min()) or float(cost.max() - cost.min())
    return worst - MARGIN * span_accuracy, costliest + MARGIN * span_cost


def _run_fronts(comparison: Comparison, cost_of: Callable[[list[Any]], np.ndarray], members: set[Any],
                reference: tuple[float, float], truth_hv: float
                ) -> tuple[pd.DataFrame, dict[str, list[tuple[np.ndarray, np.ndarray]]]]:
    """One row per run: the found front of its queried cells, and that front's points per strategy."""
    import numpy as np
    import pandas as pd

    from nasaudit.metrics import hypervolume, non_dominated

    rows: list[dict[str, Any]] = []
    found: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for name, results in comparison.runs.items():
        found[name] = []
        for result in results:
            accuracy = np.asarray(result.scores, dtype=np.float64)
            cost = cost_of(list(result.archs))
            mask = non_dominated(np.column_stack([accuracy, cost]), ["max", "min"])
            volume = hypervolume(np.column_stack([accuracy[mask], cost[mask]]), reference, ["max", "min"])
            rows.append({"strategy": name, "seed": result.seed, "queries": len(result.archs),
                         "front_size": int(mask.sum()), "hypervolume": volume,
                         "hv_fraction": volume / truth_hv if truth_hv > 0 else float("nan"),
                         "truth_front_cells": sum(result.archs[i] in members for i in np.flatnonzero(mask))})
            found[name].append((cost[mask], accuracy[mask]))
    return pd.DataFrame(rows), found


def _front_summary(runs: pd.DataFrame, reference: str = "random") -> pd.DataFrame:
    """Per strategy: the hypervolume fraction (mean ± std, min, max over seeds) and Welch's test vs ``reference``."""
    import numpy as np
    import pandas as pd

    from nasaudit.metrics import mean_std, welch_ttest

    fractions = {name: group["hv_fraction"].to_numpy() for name, group in runs.groupby("strategy", sort=False)}
    base = fractions.get(reference)
    rows = []
    for name, group in runs.groupby("strategy", sort=False):
        values = fractions[name]
        finite = bool(np.all(np.isfinite(values)))
        mean, std = mean_std(values) if finite else (float("nan"), float("nan"))
        test = (welch_ttest(values, base) if finite and base is not None and name != reference
                and bool(np.all(np.isfinite(base))) and min(values.size, base.size) > 1 else None)
        rows.append({"strategy": name, "seeds": values.size, "budget": int(group["queries"].max()),
                     "hv_fraction_mean": mean, "hv_fraction_std": std, "hv_fraction_min": float(values.min()),
                     "hv_fraction_max": float(values.max()), "front_size_mean": float(group["front_size"].mean()),
                     "truth_front_cells_mean": float(group["truth_front_cells"].mean()),
                     "welch_t": test.statistic if test else float("nan"),
                     "welch_p": test.pvalue if test else float("nan")})
    return pd.DataFrame(rows)


def _truth_row(archs: list[Any], accuracy: np.ndarray, cost: np.ndarray, front: np.ndarray, volume: float,
               reference: tuple[float, float], space: SearchSpace) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    best = int(np.lexsort((cost, -accuracy))[0])  # the most accurate, cheapest of ties
    cheap = int(np.lexsort((-accuracy, cost))[0])  # the cheapest, most accurate of ties
    return pd.DataFrame([{"population": len(archs), "front_size": int(front.sum()), "hypervolume": volume,
                          "reference_accuracy": reference[0], "reference_cost": reference[1],
                          "best_accuracy": float(accuracy[best]), "cost_of_best": float(cost[best]),
                          "best_arch": space.format(archs[best]), "cheapest_cost": float(cost[cheap]),
                          "accuracy_of_cheapest": float(accuracy[cheap])}])


def _front_table(archs: list[Any], accuracy: np.ndarray, cost: np.ndarray, front: np.ndarray, space: SearchSpace,
                 label: str, objective: str) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    index = np.flatnonzero(front)
    index = index[np.lexsort((-accuracy[index], cost[index]))]
    return pd.DataFrame({"arch": [space.format(archs[i]) for i in index], label: accuracy[index],
                         objective: cost[index]})


def _budgeted(result: StudyResult, spec: ParetoSpec, space: SearchSpace, archs: list[Any], accuracy: np.ndarray,
              params: np.ndarray, params_of: Callable[[list[Any]], np.ndarray], unconstrained: Comparison,
              seeds: list[int], scored: Scored) -> None:
    """Best accuracy under ``max_params``: each strategy searching inside the feasible cells, against the truth's
    best under the budget, beside the best feasible cell each unconstrained run queried."""
    import numpy as np
    import pandas as pd

    from nasaudit.errors import ConfigError
    from nasaudit.metrics import mean_std
    from nasaudit.search.compare import run_comparison
    from nasaudit.spaces.subset import SubsetSpace

    limit = float(spec.max_params or 0)
    feasible = params <= limit
    if not feasible.any():
        raise ConfigError(f"no architecture of the population has at most {limit:.6g} parameters (the fewest: "
                          f"{params.min():.6g})")
    inside = SubsetSpace(space, [a for a, ok in zip(archs, feasible, strict=True) if ok])
    budget = min(spec.budget, inside.size)
    searched = run_comparison(inside, scored.evaluator, spec.strategies, budget, seeds)
    truth_best = float(accuracy[feasible].max())
    rows = []
    for name, results in searched.runs.items():
        bests = np.array([r.final_score for r in results])
        outside = []
        for r in unconstrained.runs[name]:
            ok = params_of(list(r.archs)) <= limit
            outside.append(float(np.asarray(r.scores)[ok].max()) if ok.any() else float("nan"))
        posthoc = np.array(outside)
        mean, std = mean_std(bests)
        rows.append({"strategy": name, "seeds": bests.size, "budget": budget, "max_params": limit,
                     "feasible_archs": int(feasible.sum()), "truth_best": truth_best, "mean_best": mean,
                     "std_best": std, "mean_regret": truth_best - mean,
                     "runs_at_truth_best": int(np.sum(bests >= truth_best)),
                     "unconstrained_mean_best_feasible": (float(np.nanmean(posthoc)) if np.isfinite(posthoc).any()
                                                          else float("nan")),
                     "unconstrained_runs_without_feasible": int(np.sum(~np.isfinite(posthoc)))})
    result.tables.append(Table("budget.csv", f"Best {scored.column or spec.evaluator} under {limit:.6g} parameters: "
                               "each strategy searching only the feasible cells (mean ± std over seeds) against the "
                               "truth's best under the budget, and the best feasible cell its unconstrained runs "
                               "queried", pd.DataFrame(rows)))
    result.settings["max_params"] = f"{limit:.6g} ({int(feasible.sum()):,} feasible architectures)"
    result.notes.append("Parameter budget: the constrained searches run in a reduced space of the feasible cells "
                        "(samples and one-step moves stay in it), so every query is feasible and no strategy is "
                        "changed; unconstrained_* reads the feasible cells among the unconstrained runs' queries.")


def _latency(result: StudyResult, context: StudyContext, spec: ParetoSpec, space: SearchSpace, archs: list[Any],
             accuracy: np.ndarray, cost: np.ndarray, shape: Any) -> None:
    """Measured CPU latency of a seeded sample of the population and its front (``latency.csv`` only)."""
    import numpy as np
    import pandas as pd

    from nasaudit.analysis.objectives import measure_latency
    from nasaudit.metrics import non_dominated
    from nasaudit.seeding import as_generator

    count = min(spec.latency_archs, len(archs))
    chosen = np.sort(as_generator(context.seed).choice(len(archs), size=count, replace=False))
    sample = [archs[i] for i in chosen]
    seconds = measure_latency(space, sample, shape, repeats=spec.latency_repeats)
    front = non_dominated(np.column_stack([accuracy[chosen], seconds]), ["max", "min"])
    label = context.scored(spec.evaluator).column or spec.evaluator
    frame = pd.DataFrame({"arch": [space.format(a) for a in sample], label: accuracy[chosen],
                          spec.objective: cost[chosen], "latency_ms": seconds * 1e3, "on_latency_front": front})
    result.tables.append(Table("latency.csv", f"Measured CPU latency (median of {spec.latency_repeats} forward "
                               f"passes, batch 1, one thread) of {count} seeded architectures and their {label}-"
                               "latency front: machine-dependent, the one file that differs between runs",
                               frame, show=False))
    result.settings["latency"] = f"{count} seeded architectures, {spec.latency_repeats} timed passes each"
    result.notes.append("latency.csv holds a measurement (seconds differ between machines and runs): it is kept "
                        "beside the results and enters no other table, figure, note or result key.")
