"""Ground truth on demand: score any architecture by training it from scratch with several seeds, as the
benchmark builder does (search-phase paper Sec. 3.2), through the executors into the results store.

The runs are the builder's own ``TrainJob``s, so a run trained once (by a build, a search or an earlier
audit) is never trained again, and a killed audit loses at most the runs in flight. Use it where no table
covers the architectures to score, e.g. the cells a differentiable search derives (selection paper Sec. 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from nasaudit.errors import DataError
from nasaudit.jobs.executors import Executor, run_jobs
from nasaudit.jobs.store import ResultStore
from nasaudit.spaces.base import SearchSpace
from nasaudit.truth.builder import (
    DEFAULT_FUSE,
    BuildSpec,
    TrainJob,
    check_build,
    fusion_key,
    train_job,
    train_jobs_fused,
)


class TrainedEvaluator:
    """``evaluate(archs)``: the mean over ``build.seeds`` of ``metric`` after training each architecture under
    ``build``'s protocol, dataset and options (runs resumed from and recorded in ``store``)."""

    def __init__(self, space: SearchSpace, build: BuildSpec, store: ResultStore, executor: Executor | None = None,
                 metric: str = "test_acc", progress: bool = False) -> None:
        check_build(build)
        self._space, self.build, self.store, self.executor, self.metric = space, build, store, executor, metric
        self.progress = progress

    @property
    def space(self) -> SearchSpace:
        return self._space

    def jobs(self, archs: Sequence[Any]) -> list[TrainJob]:
        """One training job per (architecture, seed)."""
        values = [self._space.coerce(a) for a in archs]
        return [TrainJob(space=self.build.space, arch=self._space.format(a), canonical=self._space.canonical(a),
                         protocol=self.build.protocol, dataset=self.build.dataset, seed=seed,
                         options=self.build.options, runtime=self.build.runtime)
                for a in dict.fromkeys(values) for seed in self.build.seeds]

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """Train what the store lacks; the mean over seeds of ``metric`` per architecture, in order."""
        return np.array([np.mean(column) for column in self.per_seed(archs).T], dtype=np.float64)

    def per_seed(self, archs: Sequence[Any]) -> np.ndarray:
        """Train what the store lacks; ``metric`` per (seed of ``build.seeds``, architecture), in order."""
        if len(archs) == 0:
            return np.empty((len(self.build.seeds), 0), dtype=np.float64)
        jobs = self.jobs(archs)
        summary = run_jobs(jobs, train_job, self.store, self.executor, progress=self.progress,
                           description="train to score", group_fn=train_jobs_fused, group_key=fusion_key,
                           group_size=DEFAULT_FUSE)
        if not summary.complete:
            raise DataError(f"training to score architectures did not finish: {summary}")
        runs = self.store.runs(job_ids=[job.job_id for job in jobs], status="done")
        value = {job_id: float(metrics[self.metric]) for job_id, metrics in zip(runs["job_id"], runs["metrics"],
                                                                                 strict=True)}
        by_run = {(job.arch, job.seed): value[job.job_id] for job in jobs}
        keys = [self._space.format(self._space.coerce(a)) for a in archs]
        return np.array([[by_run[key, seed] for key in keys] for seed in self.build.seeds], dtype=np.float64)
