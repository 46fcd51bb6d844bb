"""How well a surrogate stands in for the table (redundancy paper App. F, Fig. 30): held-out Spearman and
operation-importance agreement."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nasaudit.studies._base import StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import DEFAULT_THRESHOLD, DEFAULT_TOP, top_operation_importance

#: redundancy paper App. F: 200 random training architectures
DEFAULT_SAMPLES = 200


class SurrogateSpec(StudySpec):
    """Fit ``model`` on ``samples`` random archs scored by ``evaluator``; test on ``test`` fresh ones."""

    evaluator_fields = ("evaluator",)

    kind: Literal["surrogate"] = "surrogate"
    evaluator: str
    model: Literal["gbt", "ensemble"] = "gbt"
    encoding: Literal["auto", "path", "adjacency", "onehot"] = "auto"
    samples: int = Field(DEFAULT_SAMPLES, ge=10, le=1_000_000)
    test: int = Field(200, ge=2, le=1_000_000)
    top: float = Field(DEFAULT_TOP, gt=0, le=1)
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0, le=1)


@register_study("surrogate", SurrogateSpec, "surrogate fidelity: held-out Spearman, OI agreement (redundancy App. F)")
def run(context: StudyContext, spec: SurrogateSpec) -> StudyResult:
    """Held-out Spearman of the surrogate and agreement of its OI with the evaluator's OI on the top archs."""
    import pandas as pd

    from nasaudit.analysis.importance import importance_agreement, operation_importance
    from nasaudit.analysis.ranking import top_fraction
    from nasaudit.truth.surrogate import SurrogateBenchmark, holdout_spearman

    truth = context.scored(spec.evaluator)
    fitted = SurrogateBenchmark.from_samples(truth.evaluator, n=spec.samples, seed=context.seed, model=spec.model,
                                             encoding=spec.encoding)
    spearman = holdout_spearman(fitted, truth.evaluator, n=spec.test, seed=context.seed + 1)
    reference = top_operation_importance(context, spec.evaluator, spec.top, spec.threshold)
    archs, scores = context.population(spec.evaluator)
    chosen, _ = top_fraction(archs, scores, spec.top)
    through_model = operation_importance(fitted, chosen, units=truth.units, threshold=spec.threshold)
    agreement = importance_agreement(reference, through_model)
    row = {"model": spec.model, "encoding": fitted.encoder.name, "train_samples": spec.samples,
           "test_samples": spec.test, "holdout_spearman": spearman,
           **{f"oi_{key}": value for key, value in agreement.items()}}
    return StudyResult(
        title=f"Surrogate fidelity ({spec.model} on {spec.evaluator})",
        summary=(f"A {spec.model} surrogate fit on {spec.samples} seeded random architectures scored by "
                 f"{truth.description}; Spearman on {spec.test} fresh ones, and the agreement of operation "
                 f"importance computed through the surrogate with that of the evaluator on the top {spec.top:.0%}."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "model": spec.model,
                  "encoding": fitted.encoder.name, "samples": spec.samples, "test": spec.test, "top": spec.top},
        tables=[Table("surrogate.csv", "Held-out Spearman and OI agreement", pd.DataFrame([row])),
                Table("importance_surrogate.csv", "OI through the surrogate", through_model, show=False)],
    )
