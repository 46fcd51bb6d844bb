"""Build a tabular benchmark by training every (architecture, seed) of a space as resumable jobs through the
audit's executor and store (search-phase paper Sec. 3.2), export it, and report its seed-to-seed agreement."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nasaudit.errors import ConfigError
from nasaudit.limits import MAX_SAMPLES, MAX_SEED
from nasaudit.studies._base import SeedValue, StudyContext, StudyResult, StudySpec, Table, register_study


class BenchBuildSpec(StudySpec):
    """Train the audit space's architectures (all, one per class with ``unique``, or a seeded ``sample``)
    under ``protocol`` on ``dataset`` with ``seeds``; ``options`` override protocol fields or the macro network."""

    kind: Literal["bench_build"] = "bench_build"
    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    unique: bool = False
    sample: int | None = Field(None, ge=1, le=MAX_SAMPLES)
    sample_seed: int = Field(0, ge=0, le=MAX_SEED)
    protocol: str = "cpu_small"
    dataset: str = "embedded"
    data_root: str | None = None
    seeds: list[SeedValue] = Field(default_factory=lambda: [0, 1, 2], min_length=1, max_length=1000)
    options: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    max_attempts: int = Field(2, ge=1, le=100)
    #: seeds of one architecture trained at once (fused, equal to separate runs); how, not what: not in the runs' ids
    fuse: int = Field(8, ge=1, le=64)


@register_study("bench_build", BenchBuildSpec, "build a tabular benchmark by training (search-phase Sec. 3.2)")
def run(context: StudyContext, spec: BenchBuildSpec) -> StudyResult:
    """Train what the store lacks, then export the table and its seed agreement into the study's folder."""
    from nasaudit.jobs.job import freeze_options
    from nasaudit.spaces import get_space
    from nasaudit.truth.builder import BuildSpec, benchmark_table, build_benchmark, seed_agreement

    masked = set(context.space.ops) != set(get_space(context.space.name).ops)
    build = BuildSpec(space=context.space.name, ops=tuple(context.space.ops) if masked else None,
                      unique=spec.unique, sample=spec.sample,
                      sample_seed=spec.sample_seed, protocol=spec.protocol, dataset=spec.dataset,
                      seeds=tuple(spec.seeds), options=freeze_options(spec.options),
                      runtime=freeze_options({"data_root": str(context.resolve(spec.data_root))}
                                             if spec.data_root else None))
    summary = build_benchmark(spec.name, build, context.store, context.executor(), max_attempts=spec.max_attempts,
                              fuse=spec.fuse, progress=context.progress,
                              command=f"nasaudit run (bench_build {spec.name})")
    if not summary.complete:
        raise ConfigError(f"build {spec.name!r} is incomplete: {summary}; rerun to retry the failed runs")
    table = benchmark_table(spec.name, context.store)
    result = StudyResult(
        title=f"Benchmark build {spec.name}",
        summary=(f"{len(table)} architectures of {context.space.name} (ops {', '.join(context.space.ops)}) trained "
                 f"from scratch with seeds {spec.seeds} under protocol {spec.protocol} on {spec.dataset}."),
        settings={"name": spec.name, "protocol": spec.protocol, "dataset": spec.dataset,
                  "seeds": ", ".join(map(str, spec.seeds)), "unique": spec.unique, "sample": spec.sample,
                  "options": ", ".join(f"{k}={v}" for k, v in sorted(spec.options.items())) or "none"},
        tables=[Table("benchmark.csv", "The built table (load it as a table evaluator)", table, show=False)],
    )
    if len(spec.seeds) >= 2:
        import pandas as pd

        agreement = seed_agreement(table, "test_acc").to_dict()
        result.notes.append(f"Seed-to-seed Kendall tau of test accuracy: {agreement['mean_tau']:.3f}; it bounds "
                            "how well any predictor or supernet can rank against this table.")
        result.tables.insert(0, Table("agreement.csv", "Seed agreement of the build",
                                      pd.DataFrame([{k: v for k, v in agreement.items() if k != "kendall_tau"}])))
    else:
        result.notes.append("One seed: the seed-to-seed agreement of this table is unknown.")
    return result
