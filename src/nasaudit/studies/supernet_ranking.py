"""How a weight-sharing supernet ranks architectures against the ground truth (single-path paper Sec. 3-4), the
amount of sharing (search-phase paper App. D.1) and search with vs without weight sharing (Sec. 4.3)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from nasaudit.errors import ConfigError
from nasaudit.limits import MAX_IMAGES
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import known_strategies, truth_ceiling

if TYPE_CHECKING:

    from nasaudit.evaluators import Evaluator
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.truth.tabular import TabularBenchmark

#: single-path paper Sec. 3.2: the top-N plus 1,000 random architectures
DEFAULT_N_RANDOM = 1000


class SupernetRankingSpec(StudySpec):
    """Supernets predict the truth's top-N and ``n_random`` random architectures: ``seeds`` supernets trained as
    evaluator ``supernet`` defines, or saved ones given as ``checkpoints`` (one per seed, same config)."""

    evaluator_fields = ("supernet", "truth")
    file_fields = ("checkpoints",)

    kind: Literal["supernet_ranking"] = "supernet_ranking"
    truth: str
    supernet: str | None = None
    seeds: int = Field(2, gt=0, le=1000)
    checkpoints: list[str] = Field(default_factory=list, max_length=1000)
    data_root: str | None = None
    device: str | None = None
    n_random: int = Field(DEFAULT_N_RANDOM, ge=2, le=1_000_000)
    bn_batches: int = Field(0, ge=0, le=10_000)
    max_images: int | None = Field(None, ge=1, le=MAX_IMAGES)
    #: an NB201 cell: the amount-of-sharing experiment around it (search-phase paper App. D.1)
    sharing_base: str | None = None
    #: strategies run with the supernet and with the truth as evaluator (search-phase paper Sec. 4.3, Table 4)
    strategies: list[str] = Field(default_factory=list)
    budget: int = Field(50, gt=0, le=1_000_000)
    search_seeds: int = Field(10, gt=0, le=100_000)

    @field_validator("strategies")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return known_strategies(names) if names else names

    @model_validator(mode="after")
    def _one_source(self) -> SupernetRankingSpec:
        if (self.supernet is None) == (not self.checkpoints):
            raise ValueError("give either 'supernet' (an evaluator to train) or 'checkpoints' (saved supernets)")
        return self


def _supernets(context: StudyContext, spec: SupernetRankingSpec) -> tuple[list[Evaluator], list[int], str]:
    """The supernet evaluators (trained or loaded), their seeds and a description."""
    from nasaudit.studies.evaluators import SupernetEvaluatorSpec, train_supernet_evaluator
    from nasaudit.weight_sharing.supernet import SupernetEvaluator
    from nasaudit.weight_sharing.supernet.training import load_run

    if spec.checkpoints:
        data_root = context.resolve(spec.data_root) if spec.data_root else None
        runs = [load_run(context.resolve(path), data_root=data_root, device=spec.device) for path in spec.checkpoints]
        if len({run.config for run in runs}) != 1:
            raise ConfigError("all checkpoints of a supernet ranking must share one config (they differ by seed)")
        if runs[0].supernet.space.family != context.space.family:
            raise ConfigError(f"the checkpoints hold {runs[0].config.space} supernets; the audit's space is "
                              f"{context.space.name!r}")
        if not set(runs[0].supernet.space.ops) <= set(context.space.ops):
            raise ConfigError(f"the checkpoints' ops {list(runs[0].supernet.space.ops)} are not in the audit's "
                              f"space {list(context.space.ops)}")
        evaluators: list[Evaluator] = [SupernetEvaluator(r.supernet, r.splits, bn_batches=spec.bn_batches,
                                                         max_images=spec.max_images) for r in runs]
        return evaluators, [r.seed for r in runs], f"{len(runs)} saved supernets ({runs[0].config.space})"
    assert spec.supernet is not None
    config = context.evaluator_spec(spec.supernet)
    if not isinstance(config, SupernetEvaluatorSpec):
        raise ConfigError(f"supernet_ranking needs a supernet evaluator; {spec.supernet!r} is a {config.kind}")
    seeds = list(range(context.seed, context.seed + spec.seeds))
    trained: list[Evaluator] = [train_supernet_evaluator(context, spec.supernet, config, s) for s in seeds]
    return trained, seeds, (f"SPOS supernets ({config.size}, {config.sampling} sampling, {config.epochs} epochs on "
                            f"{config.dataset})")


@register_study("supernet_ranking", SupernetRankingSpec, "supernet ranking vs ground truth (single-path Sec. 3-4)")
def run(context: StudyContext, spec: SupernetRankingSpec) -> StudyResult:
    """Predicted accuracy of the ground-truth top-N, tau, tau_a and the seed-to-seed ceiling of the truth."""
    import numpy as np
    import pandas as pd

    from nasaudit.report.figures_supernet import plot_predictions, plot_rank_disorder, plot_top_n_curves
    from nasaudit.weight_sharing.supernet import rank_disorder, ranking_report, select_ranking_set

    truth = context.scored(spec.truth)
    if truth.benchmark is None or truth.column is None:
        raise ConfigError(f"supernet_ranking needs a table evaluator as truth; {spec.truth!r} is not one")
    evaluators, seeds, description = _supernets(context, spec)
    space = evaluators[0].space  # the supernets' (possibly op-masked) space: what they can score
    rset = select_ranking_set(truth.benchmark, truth.column, space, n_random=spec.n_random, seed=context.seed)
    predictions = np.stack([e.evaluate(list(rset.archs)) for e in evaluators])
    report = ranking_report(rset, predictions, seeds)
    ceiling = truth_ceiling(truth.benchmark, truth.column, list(rset.archs))
    result = StudyResult(
        title="Supernet ranking vs ground truth",
        summary=(f"{description} with seeds {seeds} predict the accuracy of the ground-truth top-N and of "
                 f"{spec.n_random} random architectures of the space; the truth is {truth.description}."),
        settings={"supernet": spec.supernet or ", ".join(spec.checkpoints), "truth": spec.truth,
                  "supernet_seeds": ", ".join(map(str, seeds)), "ranking_set": len(rset.archs),
                  "top_n": ", ".join(map(str, rset.ns))},
    )
    if ceiling is not None:
        result.notes.append(
            f"Ceiling: the ground truth's own seed-to-seed Kendall tau on these architectures is "
            f"{ceiling['kendall_tau'].mean():.3f}; no supernet can be expected to rank better than that.")
        result.tables.append(Table("ceiling.csv", "Seed-to-seed Kendall tau of the ground truth", ceiling))
    frame = pd.DataFrame({"arch": rset.strings(space), "truth": rset.truth,
                          "random_sample": np.isin(np.arange(len(rset.archs)), rset.random)})
    for seed, row in zip(seeds, predictions, strict=True):
        frame[f"supernet_seed{seed}"] = row
    result.tables += [
        Table("summary.csv", "Ranking correlations, mean and std over supernet seeds", report.summary),
        Table("curve.csv", "Predicted accuracy A_N and tau within each top-N", report.curve),
        Table("per_seed.csv", "Every metric of every supernet seed", report.per_seed, show=False),
        Table("predictions.csv", "Supernet predictions of every ranked architecture", frame, show=False),
    ]
    result.plots += [
        Plot("predictions.png", "Supernet vs ground truth (Fig. 2)",
             partial(plot_predictions, rset, predictions, truth_label=truth.column)),
        Plot("top_n.png", "A_N and tau within the top-N (Fig. 4)",
             partial(plot_top_n_curves, {f"seeds {seeds}": report})),
        Plot("rank_disorder.png", "Ground-truth rank vs supernet rank",
             partial(plot_rank_disorder, rank_disorder(rset.truth[rset.random], predictions[:, rset.random]))),
    ]
    if spec.sharing_base is not None:
        result.tables.append(_sharing(space, spec.sharing_base, evaluators, truth.evaluator))
    if spec.strategies:
        result.tables.append(_with_and_without(space, spec, evaluators[0], truth.benchmark, truth.column))
    return result


def _sharing(space: SearchSpace, base: str, evaluators: list[Evaluator], truth: Evaluator) -> Table:
    """Cells sharing all but one op with ``base``: how far apart their predictions are (App. D.1)."""
    import numpy as np

    from nasaudit.spaces.nb201 import NB201Space
    from nasaudit.weight_sharing.sharing import amount_of_sharing, sharing_archs

    if not isinstance(space, NB201Space):
        raise ConfigError(f"the amount-of-sharing experiment is defined on NB201 cells, not {space.name!r}")
    cells = sharing_archs(space, space.parse(base))
    archs = list(cells["arch"])
    predicted = np.stack([e.evaluate(archs) for e in evaluators])
    return Table("amount_of_sharing.csv", f"Amount of sharing around {base} (search-phase App. D.1)",
                 amount_of_sharing(cells, truth.evaluate(archs), predicted))


def _with_and_without(space: SearchSpace, spec: SupernetRankingSpec, supernet: Evaluator,
                      benchmark: TabularBenchmark, column: str) -> Table:
    """The same strategies driven by the supernet and by the truth (search-phase paper Table 4)."""
    from nasaudit.weight_sharing.supernet.ranking import space_truth, weight_sharing_comparison

    truth = benchmark.evaluator(column, resolve="canonical")
    _, space_scores = space_truth(benchmark, column, space)
    comparison = weight_sharing_comparison(space, {"with WS": supernet, "without WS": truth}, truth,
                                           spec.strategies, spec.budget, spec.search_seeds, space_scores)
    return Table("ws_comparison.csv", f"Search with vs without weight sharing, scored by {column}", comparison)
