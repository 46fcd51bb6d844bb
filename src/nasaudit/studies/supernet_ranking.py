"""How a weight-sharing supernet ranks architectures against the ground truth (single-path paper Sec. 3-4)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from nasaudit.errors import ConfigError
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study

if TYPE_CHECKING:
    import pandas as pd

    from nasaudit.benchmarks.tabular import TabularBenchmark


class SupernetRankingSpec(StudySpec):
    """``seeds`` supernets of evaluator ``supernet`` predict the truth's top-N and random architectures."""

    evaluator_fields = ("supernet", "truth")

    kind: Literal["supernet_ranking"] = "supernet_ranking"
    supernet: str
    truth: str
    seeds: int = Field(2, gt=0, le=1000)


def truth_ceiling(benchmark: TabularBenchmark, column: str, archs: list[Any]) -> pd.DataFrame | None:
    """Seed-to-seed tau of the truth, when the table has per-seed columns of ``column``."""
    from nasaudit.supernet import ground_truth_ceiling

    base = column.removesuffix("_mean")
    if not any(m.startswith(f"{base}_seed") for m in benchmark.metrics):
        return None
    return ground_truth_ceiling(benchmark, base, archs)


@register_study("supernet_ranking", SupernetRankingSpec, "supernet ranking vs ground truth (single-path Sec. 3-4)")
def run(context: StudyContext, spec: SupernetRankingSpec) -> StudyResult:
    """Predicted accuracy of the ground-truth top-N, tau, tau_a and the seed-to-seed ceiling of the truth."""
    import numpy as np
    import pandas as pd

    from nasaudit.report.figures_supernet import plot_predictions, plot_rank_disorder, plot_top_n_curves
    from nasaudit.studies.evaluators import SupernetEvaluatorSpec, train_supernet_evaluator
    from nasaudit.supernet import rank_disorder, ranking_report, select_ranking_set

    truth = context.scored(spec.truth)
    if truth.benchmark is None or truth.column is None:
        raise ConfigError(f"supernet_ranking needs a table evaluator as truth; {spec.truth!r} is not one")
    config = context.evaluator_spec(spec.supernet)
    if not isinstance(config, SupernetEvaluatorSpec):
        raise ConfigError(f"supernet_ranking needs a supernet evaluator; {spec.supernet!r} is a {config.kind}")
    rset = select_ranking_set(truth.benchmark, truth.column, context.space, seed=context.seed)
    seeds = list(range(context.seed, context.seed + spec.seeds))
    predictions = np.stack([train_supernet_evaluator(context, spec.supernet, config, s).evaluate(list(rset.archs))
                            for s in seeds])
    report = ranking_report(rset, predictions, seeds)
    ceiling = truth_ceiling(truth.benchmark, truth.column, list(rset.archs))
    result = StudyResult(
        title="Supernet ranking vs ground truth",
        summary=(f"SPOS supernets ({config.size}, {config.sampling} sampling, {config.epochs} epochs on "
                 f"{config.dataset}) trained with seeds {seeds} predict the accuracy of the ground-truth top-N and "
                 f"of random architectures of the space; the truth is {truth.description}."),
        settings={"seed": context.seed, "supernet": spec.supernet, "truth": spec.truth,
                  "supernet_seeds": ", ".join(map(str, seeds)), "ranking_set": len(rset.archs),
                  "top_n": ", ".join(map(str, rset.ns))},
    )
    if ceiling is not None:
        result.notes.append(
            f"Ceiling: the ground truth's own seed-to-seed Kendall tau on these architectures is "
            f"{ceiling['kendall_tau'].mean():.3f}; no supernet can be expected to rank better than that.")
        result.tables.append(Table("ceiling.csv", "Seed-to-seed Kendall tau of the ground truth", ceiling))
    frame = pd.DataFrame({"arch": rset.strings(context.space), "truth": rset.truth})
    for seed, row in zip(seeds, predictions, strict=True):
        frame[f"supernet_seed{seed}"] = row
    result.tables += [
        Table("summary.csv", "Ranking correlations, mean and std over supernet seeds", report.summary),
        Table("curve.csv", "Predicted accuracy A_N and tau within each top-N", report.curve),
        Table("per_seed.csv", "Every metric of every supernet seed", report.per_seed, show=False),
        Table("predictions.csv", "Supernet predictions of every ranked architecture", frame, show=False),
    ]
    result.plots += [
        Plot("predictions.png", "Supernet vs ground truth",
             partial(plot_predictions, rset, predictions, truth_label=truth.column)),
        Plot("top_n.png", "A_N and tau within the top-N (Fig. 4)",
             partial(plot_top_n_curves, {f"seeds {seeds}": report})),
        Plot("rank_disorder.png", "Ground-truth rank vs supernet rank",
             partial(plot_rank_disorder, rank_disorder(rset.truth[rset.random], predictions[:, rset.random]))),
    ]
    return result
