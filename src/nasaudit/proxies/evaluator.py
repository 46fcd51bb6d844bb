"""Proxy scores as an evaluator: one stored job per (architecture, setting), computed in groups on the executor.

Each score is an ``ExperimentJob`` of the results store (experiment ``proxy:<name>``, key the architecture,
params the ``ProxySetting`` and the space), so a cell scored once is never scored again and a killed run loses only the
groups in flight. Jobs of one setting run up to ``GROUP`` at a time as one call (``score_jobs``: the batch and
data are loaded once per call; smaller groups where that keeps every worker busy), and the processes executor
runs groups side by side.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from nasaudit.errors import DataError
from nasaudit.jobs.executors import Executor, run_jobs
from nasaudit.jobs.job import ExperimentJob, JobResult, freeze_options
from nasaudit.jobs.store import ResultStore
from nasaudit.spaces.base import SearchSpace

#: architectures scored by one job-group call at most (fewer when that leaves a worker idle)
GROUP = 128


def experiment(proxy: str) -> str:
    """The store's experiment name of a proxy's scores (one per proxy, so reading them back reads no other's)."""
    return f"proxy:{proxy}"


def _setting_of(job: ExperimentJob) -> tuple[SearchSpace, Any]:
    from nasaudit.proxies.scoring import ProxySetting
    from nasaudit.spaces import get_space

    params = dict(job.params)
    space = get_space(params.pop("space"))
    fuse = int(params.pop("fuse"))
    return space, (ProxySetting(seed=job.seed, **params), fuse)


def score_jobs(jobs: Sequence[ExperimentJob]) -> list[JobResult]:
    """Score the architectures of jobs that share one setting (``group_key``), in one call."""
    from nasaudit.proxies.scoring import score_archs

    space, (setting, fuse) = _setting_of(jobs[0])
    scores = score_archs([space.parse(job.key) for job in jobs], space, setting, fuse=fuse)
    return [JobResult({"score": float(s) if math.isfinite(s) else None}) for s in scores]


def score_job(job: ExperimentJob) -> JobResult:
    """Score one architecture (``score_jobs`` of one job)."""
    return score_jobs([job])[0]


def group_key(job: ExperimentJob) -> Hashable:
    """Jobs scored in one call share everything but the architecture."""
    return job.experiment, job.seed, job.params


class ProxyEvaluator:
    """``evaluate(archs)``: the proxy score of each architecture under ``setting`` (NaN where undefined), from
    the store or computed on ``executor``; ``fuse`` networks per stack (``scoring.score_archs``)."""

    def __init__(self, space: SearchSpace, setting: Any, store: ResultStore, executor: Executor | None = None,
                 fuse: int = 1, progress: bool = False) -> None:
        self._space, self.setting, self.store, self.executor = space, setting, store, executor
        self.fuse, self.progress = fuse, progress

    @property
    def space(self) -> SearchSpace:
        return self._space

    def jobs(self, archs: Sequence[Any]) -> list[ExperimentJob]:
        """One job per distinct architecture."""
        params = {**dataclasses.asdict(self.setting), "space": self._space.name, "fuse": self.fuse}
        seed = params.pop("seed")
        return [ExperimentJob(experiment(self.setting.proxy), self._space.format(a), seed, freeze_options(params))
                for a in dict.fromkeys(self._space.coerce(a) for a in archs)]

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """Score what the store lacks; one float per architecture, in order."""
        if len(archs) == 0:
            return np.empty(0, dtype=np.float64)
        jobs = self.jobs(archs)
        workers = self.executor.capacity if self.executor is not None else 1
        summary = run_jobs(jobs, score_job, self.store, self.executor, progress=self.progress,
                           description=f"proxy {self.setting.proxy}", group_fn=score_jobs, group_key=group_key,
                           group_size=max(1, min(GROUP, math.ceil(len(jobs) / workers))))
        if not summary.complete:
            raise DataError(f"scoring architectures with proxy {self.setting.proxy!r} did not finish: {summary}")
        rows = self.store.experiment_results(experiment(self.setting.proxy), status="done")
        wanted = {job.job_id: job.key for job in jobs}
        value = {wanted[job_id]: math.nan if metrics.get("score") is None else float(metrics["score"])
                 for job_id, metrics in zip(rows["job_id"], rows["metrics"], strict=True) if job_id in wanted}
        return np.array([value[self._space.format(self._space.coerce(a))] for a in archs], dtype=np.float64)
