"""Proxy scores as an evaluator: one stored job per (architecture, setting), computed in groups on the executor.

Each score is an ``ExperimentJob`` of the results store (experiment ``proxy:<name>``, key the architecture,
params the ``ProxySetting`` and the space), so a cell scored once is never scored again and a killed run loses only the
groups in flight. Jobs of one setting run up to ``GROUP`` at a time as one call (``score_jobs``: the batch and
data are loaded once per call; smaller groups where that keeps every worker busy), and the processes executor
runs groups side by side. Fewer than ``IN_PROCESS`` missing scores (a search's one-at-a-time queries) are computed
in this process with one torch thread, as a worker would: starting workers costs more than scoring them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import numpy as np

from nasaudit.errors import DataError
from nasaudit.jobs.executors import Executor, run_jobs
from nasaudit.jobs.job import ExperimentJob, JobResult, freeze_options
from nasaudit.jobs.store import ResultStore
from nasaudit.spaces.base import SearchSpace

#: architectures scored by one job-group call at most (fewer when that leaves a worker idle)
GROUP = 128
#: fewer missing scores than this are computed in this process: a pool of spawned workers (torch imported, the
#: batch loaded) takes seconds to start, about what ~100 scores of the default small network take on one core
IN_PROCESS = GROUP


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


@contextlib.contextmanager
def _like_a_worker(device: str) -> Iterator[None]:
    """One torch thread (a worker's: the same kernels, so the same scores) and the caller's global RNG untouched
    (``score_archs`` seeds it), both restored afterwards."""
    import torch

    before = torch.get_num_threads()
    where = torch.device(device)
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[where.index or 0] if where.type == "cuda" else []):
            yield
    finally:
        torch.set_num_threads(before)


class ProxyEvaluator:
    """``evaluate(archs)``: the proxy score of each architecture under ``setting`` (NaN where undefined), from
    the store or computed on ``executor``; ``fuse`` networks per stack (``scoring.score_archs``). ``seconds(archs)``:
    the measured seconds of each stored score (machine-dependent; never part of a score)."""

    def __init__(self, space: SearchSpace, setting: Any, store: ResultStore, executor: Executor | None = None,
                 fuse: int = 1, progress: bool = False) -> None:
        self._space, self.setting, self.store, self.executor = space, setting, store, executor
        self.fuse, self.progress = fuse, progress
        #: job id -> (score, measured seconds) of the stored scores read so far
        self._known: dict[str, tuple[float, float]] = {}

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
        return np.array([score for score, _ in self._stored(archs)], dtype=np.float64)

    def seconds(self, archs: Sequence[Any]) -> np.ndarray:
        """The measured seconds of each architecture's stored score (a group's time shared evenly by its members;
        from whichever run computed it), scoring what the store lacks first."""
        return np.array([seconds for _, seconds in self._stored(archs)], dtype=np.float64)

    def _stored(self, archs: Sequence[Any]) -> list[tuple[float, float]]:
        if len(archs) == 0:
            return []
        jobs = self.jobs(archs)
        missing = [job for job in jobs if job.job_id not in self._known]
        if missing:
            self._compute(missing)
            rows = self.store.experiment_results(experiment(self.setting.proxy), status="done",
                                                  job_ids=[job.job_id for job in missing])
            for job_id, metrics, seconds in zip(rows["job_id"], rows["metrics"], rows["duration_s"], strict=True):
                score = math.nan if metrics.get("score") is None else float(metrics["score"])
                self._known[job_id] = (score, math.nan if seconds is None else float(seconds))
        by_key = {job.key: self._known[job.job_id] for job in jobs}
        return [by_key[self._space.format(self._space.coerce(a))] for a in archs]

    def _compute(self, jobs: list[ExperimentJob]) -> None:
        """Run the jobs the store lacks: here when they are few, else on the executor."""
        pending = len(jobs) - len(self.store.done_ids("experiment_results", [job.job_id for job in jobs]))
        here = pending < IN_PROCESS or self.executor is None
        workers = 1 if here or self.executor is None else self.executor.capacity
        with _like_a_worker(self.setting.device) if here else contextlib.nullcontext():
            summary = run_jobs(jobs, score_job, self.store, None if here else self.executor, progress=self.progress,
                               description=f"proxy {self.setting.proxy}", group_fn=score_jobs, group_key=group_key,
                               group_size=max(1, min(GROUP, math.ceil(pending / workers))))
        if not summary.complete:
            raise DataError(f"scoring architectures with proxy {self.setting.proxy!r} did not finish: {summary}")
