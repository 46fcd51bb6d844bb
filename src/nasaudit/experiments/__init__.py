"""Experiments: job descriptions, executors (sequential, local processes, Ray) and the SQL results store."""

from nasaudit.experiments.executors import (
    Executor,
    ProcessExecutor,
    RayExecutor,
    RunSummary,
    SequentialExecutor,
    make_executor,
    run_jobs,
)
from nasaudit.experiments.jobs import ExperimentJob, Job, JobResult, Outcome, TrainJob
from nasaudit.experiments.store import ResultStore

__all__ = [
    "Executor",
    "ExperimentJob",
    "Job",
    "JobResult",
    "Outcome",
    "ProcessExecutor",
    "RayExecutor",
    "ResultStore",
    "RunSummary",
    "SequentialExecutor",
    "TrainJob",
    "make_executor",
    "run_jobs",
]
