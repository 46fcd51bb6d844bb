"""Jobs, the SQL results store, executors (sequential, processes, Ray) and provenance.

This package knows nothing of NAS: a job is a frozen dataclass with a deterministic id, an executor runs
job functions and records outcomes in the store. Everything above it (studies, the audit runner, the
benchmark builder) describes its work as jobs.
"""

from nasaudit.jobs.executors import (
    Executor,
    ProcessExecutor,
    RayExecutor,
    RunSummary,
    SequentialExecutor,
    make_executor,
    run_jobs,
)
from nasaudit.jobs.job import ExperimentJob, Job, JobResult, Outcome
from nasaudit.jobs.store import ResultStore

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
    "make_executor",
    "run_jobs",
]
