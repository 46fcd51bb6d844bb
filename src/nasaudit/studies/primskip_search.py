"""Query-based NAS inside the PrimSkip group vs in the unconstrained space (redundancy paper App. H, Fig. 33).

Each strategy runs the same seeds at the same query budget twice against one evaluator: once in the group
(``PrimSkipSpace``: samples and moves stay in it) and once in the whole space. The tables answer "does searching
inside PrimSkip find better cells, sooner?": the final best per run, best-so-far trajectories, and per strategy
the mean final best, the mean best-so-far at a few budgets, how soon each search reaches the unconstrained
search's mean final best, and Welch's t-test of the final bests inside vs outside.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from nasaudit.limits import MAX_QUERIES, MAX_RUNS
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import known_strategies

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import pandas as pd

    from nasaudit.search.compare import Comparison
    from nasaudit.spaces.base import SearchSpace

#: the label of the searches in the whole space (the group's are labelled by the group's name)
UNCONSTRAINED = "unconstrained"
#: spaces up to this size are scored whole, to state the best cell of the space and of the group
OPTIMUM_LIMIT = 100_000
#: the fractions of the budget at which the summary gives the mean best-so-far
CHECKPOINTS = (0.1, 0.25, 0.5, 1.0)
#: strategies that cannot keep to a group: the ENAS controller samples each NB201 edge over the space's ops
UNCONSTRAINABLE = {"reinforce": "the ENAS controller samples every NB201 edge over all of the space's ops, so it "
                                "cannot keep to a PrimSkip group"}
#: what App. H reports (Fig. 33 gives curves only; no numbers are stated in the text)
PAPER_FINDING = ("Paper (redundancy App. H, Fig. 33): NAS-BOWL, 5 repetitions of 100 queries on the DARTS space "
                 "(test error), and DARTS (50 supernet epochs): \"conducting search in the constrained search "
                 "space leads to massive speed-ups compared to doing so in the original search space\". No "
                 "number is stated: Fig. 33a only plots NAS-BOWL's test error against queries (mean ± std over 5 "
                 "seeds, on an axis from 5.0% to 7.0%).")


class PrimSkipSearchSpec(StudySpec):
    """``strategies`` x ``seeds`` searches of ``budget`` queries of ``evaluator``, inside the PrimSkip ``group`` and
    in the whole space (App. H)."""

    evaluator_fields = ("evaluator",)

    kind: Literal["primskip_search"] = "primskip_search"
    evaluator: str
    strategies: list[str] = Field(default_factory=lambda: ["random", "evolution"], min_length=1)
    budget: int = Field(100, gt=0, le=MAX_QUERIES)
    seeds: int = Field(20, gt=0, le=MAX_RUNS)
    group: Literal["skip", "prim", "primskip"] = "primskip"

    @field_validator("strategies")
    @classmethod
    def _constrainable(cls, names: list[str]) -> list[str]:
        for name in known_strategies(names):
            if name in UNCONSTRAINABLE:
                raise ValueError(f"strategy {name!r} cannot search inside a group: {UNCONSTRAINABLE[name]}")
        return names

    def check(self, space: SearchSpace, base_dir: Path) -> list[str]:
        from nasaudit.errors import SpaceError
        from nasaudit.spaces.constraints import PrimSkipSpace

        try:
            PrimSkipSpace(space, self.group)
        except SpaceError as err:
            return [str(err)]
        if space.family == "darts" and "bananas" in self.strategies:
            return ["bananas encodes both DARTS cells only in a DARTS space, so inside the group it would see the "
                    "normal cell alone; leave it out on DARTS"]
        return []


@register_study("primskip_search", PrimSkipSearchSpec,
                "query-based NAS inside the PrimSkip group vs the whole space (redundancy App. H)")
def run(context: StudyContext, spec: PrimSkipSearchSpec) -> StudyResult:
    """Run every strategy per seed inside the group and in the whole space; compare the final bests and curves."""
    from nasaudit.errors import ConfigError
    from nasaudit.report.figures_primskip import plot_primskip_search
    from nasaudit.search.compare import run_comparison
    from nasaudit.spaces.constraints import PrimSkipSpace

    problems = spec.check(context.space, context.resolve("."))
    if problems:
        raise ConfigError(f"primskip_search: {problems[0]}")
    scored = context.scored(spec.evaluator)
    base = context.space
    group = PrimSkipSpace(base, spec.group)
    budget = min(spec.budget, group.size)
    seeds = list(range(context.seed, context.seed + spec.seeds))
    searches = {spec.group: run_comparison(group, scored.evaluator, spec.strategies, budget, seeds),
                UNCONSTRAINED: run_comparison(base, scored.evaluator, spec.strategies, budget, seeds)}
    _check_inside(group, searches[spec.group])
    runs = run_table(searches, group)
    summary = summary_table(searches, spec.group)
    result = StudyResult(
        title=f"NAS inside the {spec.group} group ({spec.evaluator})",
        summary=(f"{', '.join(spec.strategies)}: {spec.seeds} seeds of {budget} queries each, inside the "
                 f"{spec.group} group of {base.name} ({group.size:,} architectures) and in the whole space "
                 f"({base.size:,}), scored by {scored.description}."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "space": base.name, "space_size": base.size,
                  "group": spec.group, "group_size": group.size, "strategies": ", ".join(spec.strategies),
                  "budget": budget, "seeds": f"{seeds[0]}..{seeds[-1]}"},
        tables=[Table("summary.csv", "Per strategy and space: final best (mean ± std over seeds), mean best-so-far "
                      "at a few budgets, queries to reach the unconstrained search's mean final best, and Welch's "
                      "t-test of the final bests inside vs outside the group", summary),
                Table("runs.csv", "Per strategy, space and seed: the best cell found", runs),
                Table("trajectories.csv", "Every query of every search", _trajectories(searches), show=False)],
        notes=[PAPER_FINDING, *_findings(summary, spec.group)],
    )
    if budget < spec.budget:
        result.notes.append(f"The budget was cut from {spec.budget} to {budget}, the size of the {spec.group} group, "
                            "in both spaces (a search never queries a cell twice): inside it, every search lists "
                            "the whole group.")
    elif budget * 2 > group.size:
        result.notes.append(f"The budget is {budget / group.size:.0%} of the {spec.group} group: inside it, a search "
                            "nearly lists the whole group.")
    if base.size <= OPTIMUM_LIMIT:
        result.notes.append(_optima(context, spec.evaluator, group))
    curves = {(name, space): curve for space, comparison in searches.items()
              for name, curve in comparison.curves().items()}
    result.plots.append(Plot("best_so_far.png", "Best score so far vs queries (mean ± std over seeds), solid inside "
                             f"the {spec.group} group, dashed in the whole space",
                             partial(plot_primskip_search, curves, inside=spec.group,
                                     ylabel=f"best score so far ({spec.evaluator})")))
    return result


def _check_inside(group: Any, comparison: Comparison) -> None:
    """Every query of a search inside the group is a member (a strategy that leaves it would void the study)."""
    from nasaudit.errors import ConfigError

    for name, runs in comparison.runs.items():
        for run in runs:
            outside = [a for a in run.archs if not group.constraint.satisfied(a)]
            if outside:
                raise ConfigError(f"strategy {name!r} (seed {run.seed}) queried {len(outside)} cell(s) outside the "
                                  f"{group.group!r} group, e.g. {outside[0]}; it cannot search inside a group")


def run_table(searches: dict[str, Comparison], group: Any) -> pd.DataFrame:
    """One row per (strategy, space, seed): the final best, its cell, whether it is a group member, and how many of
    the run's queries fell in the group."""
    import pandas as pd

    rows = []
    for space, comparison in searches.items():
        for name, runs in comparison.runs.items():
            for run in runs:
                members = sum(group.constraint.satisfied(a) for a in run.archs)
                rows.append({"strategy": name, "space": space, "seed": run.seed, "budget": len(run.archs),
                             "final_best": run.final_score, "final_arch": str(run.final_arch),
                             "final_in_group": group.constraint.satisfied(run.final_arch),
                             "queries_in_group": members})
    return pd.DataFrame(rows)


def _trajectories(searches: dict[str, Comparison]) -> pd.DataFrame:
    import pandas as pd

    frames = [comparison.trajectories().assign(space=space) for space, comparison in searches.items()]
    table = pd.concat(frames, ignore_index=True)
    return table[["strategy", "space", "seed", "query", "arch", "score", "best_so_far"]]


def checkpoints(budget: int) -> list[int]:
    """The query counts at which the summary reads the best-so-far: ``CHECKPOINTS`` of the budget, at least 1."""
    return sorted({max(1, round(fraction * budget)) for fraction in CHECKPOINTS})


def queries_to_reach(curves: np.ndarray, target: float) -> np.ndarray:
    """Per run (row of best-so-far curves), the first query (1-based) whose best-so-far reaches ``target``;
    ``inf`` for a run that never does."""
    import numpy as np

    reached = curves >= target
    return np.where(reached.any(axis=1), reached.argmax(axis=1) + 1.0, np.inf)


def summary_table(searches: dict[str, Comparison], inside: str) -> pd.DataFrame:
    """One row per (strategy, space): seeds, budget, mean/std/best of the final bests, the mean best-so-far at
    ``checkpoints(budget)``, the target (the unconstrained search's mean final best) with the share of runs that
    reach it and the median query at which they do (NaN when half never do), and on the group's row Welch's
    t-test of its final bests against the unconstrained ones."""
    import numpy as np
    import pandas as pd

    from nasaudit.metrics import mean_std, welch_ttest

    curves = {space: comparison.curves() for space, comparison in searches.items()}
    rows = []
    for name in searches[inside].runs:
        target = float(curves[UNCONSTRAINED][name][:, -1].mean())
        for space in searches:
            array = curves[space][name]
            finals = array[:, -1]
            mean, std = mean_std(finals)
            reach = queries_to_reach(array, target)
            median = float(np.median(reach))
            row: dict[str, Any] = {"strategy": name, "space": space, "seeds": array.shape[0],
                                   "budget": array.shape[1], "mean": mean, "std": std, "best": float(finals.max())}
            row.update({f"mean_best_at_{q}": float(array[:, q - 1].mean()) for q in checkpoints(array.shape[1])})
            row.update({"target": target, "share_reaching_target": float(np.isfinite(reach).mean()),
                        "median_queries_to_target": median if np.isfinite(median) else float("nan")})
            test = (welch_ttest(finals, curves[UNCONSTRAINED][name][:, -1])
                    if space != UNCONSTRAINED and finals.size > 1 else None)
            row.update({"welch_t": test.statistic if test else float("nan"),
                        "welch_p": test.pvalue if test else float("nan")})
            rows.append(row)
    return pd.DataFrame(rows)


def _findings(summary: pd.DataFrame, inside: str) -> list[str]:
    """Ours, one line per strategy, beside the paper's."""
    import math

    notes = []
    for name, rows in summary.groupby("strategy", sort=False):
        by_space = rows.set_index("space")
        group, whole = by_space.loc[inside], by_space.loc[UNCONSTRAINED]
        p = float(group["welch_p"])
        test = "Welch p undefined (no spread)" if math.isnan(p) else f"Welch t = {group['welch_t']:.2f}, p = {p:.3g}"
        notes.append(f"Ours, {name}: final best {group['mean']:.3f} ± {group['std']:.3f} inside {inside} vs "
                     f"{whole['mean']:.3f} ± {whole['std']:.3f} in the whole space ({test}; {int(group['seeds'])} "
                     f"seeds of {int(group['budget'])} queries). The unconstrained mean final best "
                     f"({group['target']:.3f}) is reached inside {inside} {_median(group)}; in the whole space "
                     f"{_median(whole)}.")
    return notes


def _median(row: pd.Series) -> str:
    import math

    median, share = float(row["median_queries_to_target"]), float(row["share_reaching_target"])
    reached = f"{share:.0%} of the runs reach it"
    if math.isnan(median):
        return f"by fewer than half of the runs ({reached})"
    return f"after a median of {median:g} quer{'y' if median == 1 else 'ies'} ({reached})"


def _optima(context: StudyContext, evaluator: str, group: Any) -> str:
    """The best cell of the whole space and of the group (spaces small enough to score whole)."""
    import numpy as np

    archs, scores = context.population(evaluator)
    best = int(np.argmax(scores))
    inside = [i for i, arch in enumerate(archs) if group.constraint.satisfied(arch)]
    group_best = max(inside, key=lambda i: scores[i]) if inside else None
    where = "inside" if group.constraint.satisfied(archs[best]) else "outside"
    text = (f"The space's best cell ({archs[best]}, {scores[best]:.3f}) is {where} the {group.group} group")
    if group_best is not None:
        text += f"; the group's best scores {scores[group_best]:.3f} ({len(inside):,} members scored)"
    return text + "."
