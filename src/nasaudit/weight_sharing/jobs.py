"""One seed of a weight-sharing training as a job of the results store: it runs on any executor, and a
rerun of a killed comparison trains only the seeds not yet done (search-phase paper Sec. 3.1, many seeds)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from nasaudit.jobs.job import NO_OPTIONS, JobResult, Options, absent_means, digest, freeze_options, identity
from nasaudit.jobs.store import ResultStore
from nasaudit.weight_sharing.setup import WSSetup

if TYPE_CHECKING:
    from nasaudit.weight_sharing.base import WeightSharingMethod


@dataclass(frozen=True)
class WSJob:
    """Train seed ``seed`` of ``training`` under ``setup`` and derive the final cells of ``methods``, each with its
    ``settings`` (method name -> its settings' identity; the group's methods only).

    ``work_root`` says where checkpoints go (a folder per job id); it is left out of the identity, so a
    moved run folder still finds its finished seeds. The id is the canonical JSON of the other fields
    (``nasaudit.jobs.job.identity``), the setup's options and the methods' settings nested in it
    (``WSSetup.to_options``, ``identity`` of each ``MethodSettings``). ``code`` holds
    the sha256 of the file of each user's method of the job (``base.source_digests``): editing the plugin
    retrains its seeds; the package's own methods have none, and their jobs keep the ids they had.
    """

    table: ClassVar[str] = "experiment_results"

    experiment: str
    training: str
    methods: tuple[str, ...]
    seed: int
    setup: Options
    work_root: str | None = field(default=None, compare=False)
    code: tuple[str, ...] = field(default=(), metadata=absent_means([]))
    settings: Options = NO_OPTIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", tuple(self.methods))
        object.__setattr__(self, "code", tuple(self.code))
        object.__setattr__(self, "setup", freeze_options(self.setup))
        object.__setattr__(self, "settings", freeze_options(self.settings))

    @property
    def job_id(self) -> str:
        return digest(self.table, identity(self))

    def columns(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "key": self.training, "seed": self.seed,
                "params": {"methods": list(self.methods), "setup": dict(self.setup),
                           "settings": dict(self.settings)}}


def make_jobs(experiment: str, methods: Sequence[WeightSharingMethod], setup: WSSetup, seeds: list[int],
              work_root: Path | None) -> list[WSJob]:
    """One job per (training, seed) of ``methods`` (grouped by training, in the order first given)."""
    from nasaudit.weight_sharing.base import source_digests, training_rows

    options = setup.to_options()
    root = None if work_root is None else str(work_root)
    by_name = {method.name: method for method in methods}
    jobs = []
    for training, names in training_rows(list(by_name)).items():
        settings = freeze_options({name: identity(by_name[name].settings) for name in names})
        jobs += [WSJob(experiment, training, tuple(names), seed, options, root, source_digests(names), settings)
                 for seed in seeds]
    return jobs


def ws_job(job: WSJob) -> JobResult:
    """Run one job (in a worker): one torch thread, so the numbers do not depend on the executor."""
    from nasaudit.train.loop import isolated_run, resolve_device  # torch loads in the workers only
    from nasaudit.weight_sharing.base import get_method
    from nasaudit.weight_sharing.training import run_training

    setup = WSSetup.from_options(dict(job.setup))
    methods = [get_method(name, job.settings.get(name)) for name in job.methods]
    folder = None if job.work_root is None else Path(job.work_root) / job.job_id[:16]
    with isolated_run(resolve_device(setup.device), 1):
        outcome = run_training(job.training, methods, setup, job.seed, folder)
    return JobResult(metrics={"finals": outcome.finals, "rank_epochs": outcome.rank_epochs,
                              "rank_scores": outcome.rank_scores, "seconds": outcome.seconds})


def job_results(store: ResultStore, jobs: list[WSJob]) -> pd.DataFrame:
    """The finished jobs' results: training, seed, finals, rank epochs and scores, seconds (one row per job)."""
    frame = store.experiment_results(jobs[0].experiment, status="done") if jobs else pd.DataFrame()
    by_id = {job.job_id: job for job in jobs}
    rows = []
    for _, row in frame.iterrows():
        job = by_id.get(row["job_id"])
        if job is not None:
            metrics = row["metrics"]
            rows.append({"training": job.training, "seed": job.seed, **metrics})
    return pd.DataFrame(rows, columns=["training", "seed", "finals", "rank_epochs", "rank_scores", "seconds"])
