"""Audit performance predictors against the truth as a function of training-set size (issue #27), as White et
al. ("How powerful are performance predictors in NAS?", NeurIPS 2021) do: predictors trained on a growing number
of architectures and ranked on held-out ones. Per predictor, training-set size and seed: Kendall tau, Spearman,
tau over the truth's top-N (single-path paper Sec. 3.2, ``PAPER_TOP_NS``) and P@K on a fixed held-out test set;
mean and standard deviation over seeds, beside the truth's seed-to-seed ceiling where the table has per-seed
columns. Predictors: ``nasaudit.predictors.PREDICTORS`` (docs/predictors.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from nasaudit.limits import MAX_SAMPLES
from nasaudit.studies._base import Plot, SeedValue, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import agreement, evaluator_ceiling

if TYPE_CHECKING:
    from pathlib import Path

    from nasaudit.spaces.base import SearchSpace

#: the predictors audited by default: every shipped one
DEFAULT_PREDICTORS = ("bananas", "gbt", "gp", "rf")
#: the metrics drawn against the training-set size
PLOTTED = ("kendall_tau", "spearman")


class PredictorsSpec(StudySpec):
    """Fit each of ``predictors`` on ``train_sizes`` architectures drawn with each of ``seeds`` (the sample and
    the model's seed), scored by ``evaluator``, and rank ``test`` held-out architectures (drawn once with the
    audit's seed, never trained on) against it."""

    evaluator_fields = ("evaluator",)

    kind: Literal["predictors"] = "predictors"
    evaluator: str
    predictors: list[str] = Field(default_factory=lambda: list(DEFAULT_PREDICTORS), min_length=1, max_length=64)
    train_sizes: list[Annotated[int, Field(ge=2, le=MAX_SAMPLES)]] = Field(
        default_factory=lambda: [20, 50, 100, 200], min_length=1, max_length=20)
    seeds: list[SeedValue] = Field(default_factory=lambda: [0, 1, 2], min_length=1, max_length=20)
    test: int = Field(1000, ge=2, le=MAX_SAMPLES)
    k: int = Field(10, ge=1, le=MAX_SAMPLES)

    def code_identity(self) -> dict[str, Any]:
        """Each predictor registered outside the package: its module, factory and file hash (``predictor_identity``),
        so editing it refits; a plugin file's predictor is left to the runner's plugin hashes."""
        from nasaudit.predictors import PREDICTORS
        from nasaudit.predictors.registry import predictor_identity

        found = {name: predictor_identity(name) for name in self.predictors if name in PREDICTORS}
        return {name: value for name, value in found.items() if value and "origin" not in value}

    def check(self, space: SearchSpace, base_dir: Path) -> list[str]:
        from nasaudit.errors import ConfigError
        from nasaudit.predictors import PREDICTORS

        problems = []
        for name in self.predictors:
            try:
                PREDICTORS.get(name)
            except ConfigError as err:
                problems.append(str(err))
        for field, values in (("predictors", self.predictors), ("train_sizes", self.train_sizes),
                              ("seeds", self.seeds)):
            if len(set(values)) != len(values):
                problems.append(f"{field} must be distinct, got {values}")
        return problems


@register_study("predictors", PredictorsSpec, "performance predictors against the truth by training-set size: "
                                              "tau, Spearman, tau@top-N, P@K")
def run(context: StudyContext, spec: PredictorsSpec) -> StudyResult:
    """Fit every predictor on every training-set size and seed; agreement with the truth on the test set."""
    from functools import partial

    import numpy as np
    import pandas as pd

    from nasaudit.errors import ConfigError
    from nasaudit.predictors import PREDICTORS
    from nasaudit.report.figures_predictors import plot_predictor_curves
    from nasaudit.seeding import as_generator

    archs, scores = context.population(spec.evaluator)
    truth = np.asarray(scores, dtype=np.float64)
    sizes = sorted(spec.train_sizes)
    if sizes[-1] + spec.test > len(archs):
        raise ConfigError(f"the largest training set ({sizes[-1]}) plus the test set ({spec.test}) needs "
                          f"{sizes[-1] + spec.test} architectures; {spec.evaluator} has {len(archs)}")
    order = as_generator(context.seed).permutation(len(archs))
    test, pool = order[:spec.test], order[spec.test:]
    test_archs = [archs[i] for i in test]
    rows = []
    for seed in spec.seeds:
        drawn = as_generator(seed).permutation(pool)  # nested training sets: each size extends the smaller ones
        for size in sizes:
            train = drawn[:size]
            for name in spec.predictors:
                predictor = PREDICTORS.get(name)(context.space).fit([archs[i] for i in train], truth[train], seed)
                rows.append({"predictor": name, "train_size": size, "seed": seed,
                             **agreement(truth[test], predictor.predict(test_archs), spec.k)})
    per_seed = pd.DataFrame(rows)
    metrics = [c for c in per_seed.columns if c not in ("predictor", "train_size", "seed", "scored", "undefined")]
    grouped = per_seed.groupby(["predictor", "train_size"], sort=False)[metrics]
    mean, std = grouped.agg(lambda v: v.mean(skipna=False)), grouped.agg(lambda v: v.std(ddof=1, skipna=False))
    summary = mean.add_suffix("_mean").join(std.add_suffix("_std")).reset_index()
    summary = summary[["predictor", "train_size", *(f"{m}_{s}" for m in metrics for s in ("mean", "std"))]]
    tables = [Table("predictors.csv", f"Each predictor against {spec.evaluator} on {spec.test} held-out "
                                      f"architectures: mean and standard deviation over seeds {spec.seeds}", summary),
              Table("predictors_per_seed.csv", "Each predictor, training-set size and seed against the truth",
                    per_seed, show=False)]
    ceiling = evaluator_ceiling(context, spec.evaluator, test_archs)
    ceiling_tau = None
    if ceiling is not None:
        tables.append(Table("truth_ceiling.csv", "The truth's own seed-to-seed agreement on the test set (ceiling)",
                            ceiling))
        ceiling_tau = float(ceiling["kendall_tau"].mean())
    scored = context.scored(spec.evaluator)
    notes = ["Every predictor scores the same held-out test set; each seed draws its own training sample (nested: "
             "a larger size extends the smaller ones) and seeds the model. Standard deviations are over seeds "
             "(NaN with one seed). A predictor that predicts one value for the whole test set (trees on too few "
             "samples) ranks nothing: its metrics are NaN, and so are their mean and std over seeds."]
    return StudyResult(
        title=f"Performance predictors against {spec.evaluator}",
        summary=(f"{len(spec.predictors)} predictors fit on {', '.join(map(str, sizes))} architectures scored by "
                 f"{scored.description}, with seeds {spec.seeds}, and ranked on {spec.test} held-out ones."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "predictors": spec.predictors,
                  "train_sizes": sizes, "seeds": spec.seeds, "test": spec.test, "k": spec.k},
        tables=tables, notes=notes,
        plots=[Plot("predictors.png", "Each predictor's agreement with the truth by training-set size",
                    partial(plot_predictor_curves, summary, [m for m in PLOTTED if f"{m}_mean" in summary],
                            ceiling_tau=ceiling_tau))],
    )
