"""``nasaudit run --plan``: every study's planned jobs and their cost, found from the spec alone: nothing runs,
nothing is written (the output folder and its store are not even opened).

A row says what a study (or an evaluator it is the first to use) will compute: how many jobs and in which units.
Counts of architectures a trained evaluator scores are upper bounds where they depend on what a search finds
(runs already in the store, or shared by two studies, are not trained twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nasaudit.audit.runner import EXHAUSTIVE_LIMIT, SAMPLED_POPULATION
from nasaudit.audit.spec import AuditSpec
from nasaudit.spaces.base import SearchSpace
from nasaudit.studies._base import StudySpec, build_space

#: spec fields that size a study, shown for kinds without a finer plan
_SIZE_WORDS = ("seed", "epoch", "budget", "sample", "repeat", "run", "step", "top", "size")


@dataclass(frozen=True)
class PlannedJobs:
    """``jobs`` jobs of ``what`` for the study ``study`` (its run-folder key) of ``kind``, each costing ``units``
    (``jobs`` is ``None`` where only the study knows the count)."""

    study: str
    kind: str
    what: str
    jobs: int | None
    units: str


def _trained(spec: AuditSpec, name: str, archs: int | None, why: str) -> tuple[str, int | None, str]:
    """The training runs of the ``train`` evaluator ``name`` scoring ``archs`` architectures (``None``: unknown)."""
    from nasaudit.jobs.job import freeze_options
    from nasaudit.studies.evaluators import TrainEvaluatorSpec
    from nasaudit.truth.builder import BuildSpec
    from nasaudit.weight_sharing.setup import build_epochs

    config = spec.evaluators[name]
    assert isinstance(config, TrainEvaluatorSpec)
    epochs = build_epochs(BuildSpec(protocol=config.protocol, dataset=config.dataset, seeds=tuple(config.seeds),
                                    options=freeze_options(config.options)))
    units = f"{epochs} epochs of {config.protocol} on {config.dataset} each"
    seeds = len(config.seeds)
    if archs is None:
        return f"trained evaluator {name!r}: {why}", None, f"{seeds} runs per architecture, {units}"
    return (f"trained evaluator {name!r}: {why} (at most {archs} architectures x {seeds} seeds)", archs * seeds,
            units)


def _compare(spec: AuditSpec, study: Any, space: SearchSpace) -> list[tuple[str, int | None, str]]:
    from nasaudit.search.registry import STRATEGIES
    from nasaudit.weight_sharing.base import training_rows
    from nasaudit.weight_sharing.setup import WSSetup

    rows: list[tuple[str, int | None, str]] = []
    queried = [s for s in study.strategies if s in STRATEGIES]
    shared = [s for s in study.strategies if s not in STRATEGIES]
    if queried:
        rows.append((f"query-based runs ({', '.join(queried)})", len(queried) * study.seeds,
                     f"{study.budget} queries of {study.evaluator} each"))
    if shared:
        ws = study.weight_sharing
        trainings = training_rows(shared)
        sizes = WSSetup(space=space.name, preset=ws.preset, channels=ws.channels, depth=ws.depth,
                        batch_size=ws.batch_size).describe_sizes(space.family)
        rows.append((f"weight-sharing seeds ({', '.join(trainings)}: {', '.join(shared)})",
                     len(trainings) * study.seeds, f"{ws.epochs} supernet epochs on {ws.dataset} each ({sizes})"))
    truth = study.truth or study.evaluator
    if spec.evaluators[study.evaluator].kind == "train" and study.evaluator != truth and queried:
        rows.append(_trained(spec, study.evaluator, len(queried) * study.seeds * study.budget, "the queries"))
    if spec.evaluators[truth].kind == "train":
        population = space.size if space.size <= EXHAUSTIVE_LIMIT else SAMPLED_POPULATION
        rows.append(_trained(spec, truth, population, "the ground truth of the whole space, the ranked set and the "
                             "final architectures among it"))
    return rows


def _generic(study: StudySpec) -> list[tuple[str, int | None, str]]:
    values = study.model_dump(mode="json", exclude={"kind", "reference"})
    sizes = [f"{key}={value}" for key, value in values.items()
             if any(word in key for word in _SIZE_WORDS) and isinstance(value, int | float | str | list)
             and not isinstance(value, bool)]
    return [("study", 1, "one study job" + (f" ({', '.join(sizes)})" if sizes else ""))]


def plan_spec(spec: AuditSpec) -> list[PlannedJobs]:
    """Every study's planned jobs (module doc), in spec order; an evaluator that trains is listed with the first
    study that reads it (it is built once per audit)."""
    from nasaudit.studies.evaluators import SupernetEvaluatorSpec

    space = build_space(spec.space)
    planned: list[PlannedJobs] = []
    seen: set[str] = set()
    for index, study in enumerate(spec.analyses):
        key = f"{index:02d}-{study.kind}"
        study_space = space if study.space is None else build_space(study.space)
        rows = _compare(spec, study, study_space) if study.kind == "compare" else _generic(study)
        for name in study.evaluator_refs():
            config = spec.evaluators[name]
            if name in seen:
                continue
            seen.add(name)
            if isinstance(config, SupernetEvaluatorSpec):
                rows.append((f"supernet evaluator {name!r}", 1, f"one {config.size} supernet training of "
                             f"{config.epochs} epochs on {config.dataset} ({config.sampling} sampling)"))
            elif config.kind == "train" and study.kind != "compare":
                rows.append(_trained(spec, name, None, "the architectures the study scores"))
        planned += [PlannedJobs(key, study.kind, what, jobs, units) for what, jobs, units in rows]
    return planned
