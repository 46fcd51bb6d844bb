"""The fair comparison protocol of the search-phase paper (Sec. 3.1, Fig. 1c).

Every strategy runs for the same seeds at the same query budget against the same evaluator; the final
architectures are then scored against ground truth: mean ± std and best over seeds, best rank in the
space, the probability to surpass random search (App. A.2) and Welch's t-test against random search.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nasaudit.errors import ConfigError
from nasaudit.evaluators import Evaluator
from nasaudit.metrics import mean_std, p_surpass_random, space_rank, welch_ttest
from nasaudit.search.base import SearchResult, Strategy
from nasaudit.search.registry import get_strategy
from nasaudit.spaces.base import SearchSpace

SUMMARY_COLUMNS: tuple[str, ...] = (
    "strategy", "seeds", "budget", "mean", "std", "best", "best_rank", "median_rank", "p_gt_random_per_run",
    "p_gt_random_best_of_runs", "welch_t", "welch_p",
)


@dataclass(frozen=True, eq=False)
class Comparison:
    """All runs of a comparison: ``runs[strategy][i]`` used ``seeds[i]``."""

    budget: int
    seeds: tuple[int, ...]
    runs: dict[str, list[SearchResult]]

    def curves(self) -> dict[str, np.ndarray]:
        """Best-so-far per strategy, shape ``(seeds, budget)``."""
        return {name: np.stack([r.best_so_far for r in runs]) for name, runs in self.runs.items()}

    def final_archs(self, strategy: str) -> list[Any]:
        """The final architecture of each seed's run."""
        return [r.final_arch for r in self.runs[strategy]]

    def trajectories(self) -> pd.DataFrame:
        """Every query of every run as one tidy table."""
        return pd.concat([r.to_frame() for runs in self.runs.values() for r in runs], ignore_index=True)


def run_comparison(space: SearchSpace, evaluator: Evaluator, strategies: Sequence[str | Strategy], budget: int,
                   seeds: int | Sequence[int]) -> Comparison:
    """Run each strategy once per seed at ``budget`` queries (search-phase paper Sec. 3.1)."""
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError("a comparison needs at least one seed")
    built = [get_strategy(s) if isinstance(s, str) else s for s in strategies]
    names = [s.name for s in built]
    if not built or len(set(names)) != len(names):
        raise ConfigError(f"a comparison needs distinct strategies, got {names}")
    runs = {s.name: [s.run(space, evaluator, budget, seed) for seed in seed_list] for s in built}
    return Comparison(int(budget), tuple(seed_list), runs)


def summarise(comparison: Comparison, truth: Evaluator, space_scores: Sequence[float] | np.ndarray,
              reference: str = "random") -> pd.DataFrame:
    """One row per strategy of ``comparison``, its final architectures scored by ``truth`` (``summarise_scores``)."""
    finals = {name: np.asarray(truth.evaluate(comparison.final_archs(name)), dtype=np.float64)
              for name in comparison.runs}
    return summarise_scores(finals, comparison.budget, space_scores, reference)


def summarise_scores(finals: Mapping[str, np.ndarray], budget: int, space_scores: Sequence[float] | np.ndarray,
                     reference: str = "random") -> pd.DataFrame:
    """One row per strategy from the ground truth of its final architectures (one per seed; search-phase paper
    Tables 3 and 4).

    ``finals`` holds the ground-truth score of each strategy's final architectures and ``space_scores`` the
    ground truth of every architecture (or one per equivalence class, for a de-isomorphised rank).
    Two forms of the probability to surpass random search (App. A.2), named for what they are:
    ``p_gt_random_per_run`` is the mean over seeds of ``(1 - rank / |space|) ** budget``, the chance that
    one run's final architecture beats the best of ``budget`` uniform random queries;
    ``p_gt_random_best_of_runs`` is ``(1 - best_rank / |space|) ** runs`` with the best rank over the
    runs and n = the number of runs, the form that reproduces the paper's Tables 3-4. Both assume
    random draws with replacement. ``welch_*`` compare the final ground-truth scores with those
    of ``reference`` (two-sided); they are NaN for the reference itself or when it was not run.
    """
    scores = np.asarray(space_scores, dtype=np.float64)
    values_of = {name: np.asarray(values, dtype=np.float64) for name, values in finals.items()}
    rows = []
    for name, values in values_of.items():
        ranks = np.atleast_1d(space_rank(values, scores))
        mean, std = mean_std(values)
        test = (welch_ttest(values, values_of[reference]) if reference in values_of and name != reference
                and min(values.size, values_of[reference].size) > 1 else None)
        rows.append({
            "strategy": name, "seeds": values.size, "budget": budget, "mean": mean, "std": std,
            "best": float(values.max()), "best_rank": int(ranks.min()), "median_rank": float(np.median(ranks)),
            "p_gt_random_per_run": float(np.mean(p_surpass_random(ranks, scores.size, budget))),
            "p_gt_random_best_of_runs": float(p_surpass_random(int(ranks.min()), scores.size, values.size)),
            "welch_t": test.statistic if test else float("nan"),
            "welch_p": test.pvalue if test else float("nan"),
        })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
