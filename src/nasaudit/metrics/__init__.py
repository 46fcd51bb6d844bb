"""Ranking correlations, ranks in the space, p(>random), statistics over seeds and Pareto fronts."""

from nasaudit.metrics.correlation import (
    PAPER_TOP_NS,
    kendall_tau,
    kendall_tau_topn,
    pearson,
    precision_at_k,
    spearman,
    tau_a,
    top_n_average,
)
from nasaudit.metrics.pareto import hypervolume, non_dominated
from nasaudit.metrics.ranking import expected_best_of_n, p_surpass_random, representatives, space_rank
from nasaudit.metrics.statistics import SignificanceResult, mean_std, welch_ttest, wilcoxon_test

__all__ = [
    "PAPER_TOP_NS",
    "SignificanceResult",
    "expected_best_of_n",
    "hypervolume",
    "kendall_tau",
    "kendall_tau_topn",
    "mean_std",
    "non_dominated",
    "p_surpass_random",
    "pearson",
    "precision_at_k",
    "representatives",
    "space_rank",
    "spearman",
    "tau_a",
    "top_n_average",
    "welch_ttest",
    "wilcoxon_test",
]
