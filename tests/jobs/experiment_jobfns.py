"""Small picklable job functions for the executor and store tests (importable by spawned workers)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

from nasaudit.jobs.job import ExperimentJob, JobResult


def _log_run(job: ExperimentJob) -> None:
    """Append the job's seed to the log file named in its params (one line per execution)."""
    log = dict(job.params).get("log")
    if log:
        with open(log, "a") as handle:
            handle.write(f"{job.seed}\n")


def square(job: ExperimentJob) -> JobResult:
    """Succeeds with the square of the seed, after the delay named in the params."""
    time.sleep(float(dict(job.params).get("delay", 0.0)))
    _log_run(job)
    return JobResult(metrics={"square": job.seed**2}, curves={"trace": [float(job.seed), float(job.seed**2)]})


def fail_once(job: ExperimentJob) -> JobResult:
    """Fails on the first attempt of each job (remembered by a marker file), then succeeds."""
    marker = Path(dict(job.params)["markers"]) / job.job_id
    if not marker.exists():
        marker.touch()
        raise RuntimeError(f"transient failure of seed {job.seed}")
    return square(job)


def always_fail(job: ExperimentJob) -> JobResult:
    """Fails every time."""
    raise ValueError(f"seed {job.seed} is broken")


def crash_on_seed_zero(job: ExperimentJob) -> JobResult:
    """Kills its worker process outright for seed 0 (like a segfault or the OOM killer)."""
    if job.seed == 0:
        os._exit(3)
    return square(job)


def not_a_result(job: ExperimentJob) -> dict:
    """Returns the wrong type."""
    return {"square": job.seed**2}


def thread_cap(job: ExperimentJob) -> JobResult:
    """Reports the math-library thread cap its worker process runs under."""
    return JobResult(metrics={"omp_threads": os.environ.get("OMP_NUM_THREADS")})


def record_pid(job: ExperimentJob) -> JobResult:
    """Writes this worker's pid as a file into the folder named in the params, then sleeps the delay."""
    Path(dict(job.params)["pids"], str(os.getpid())).touch()
    time.sleep(float(dict(job.params).get("delay", 0.0)))
    return JobResult(metrics={"pid": os.getpid()})


def _log_group(jobs: Sequence[ExperimentJob]) -> None:
    """Append the group's seeds to the log file named in its params (one line per group call)."""
    log = dict(jobs[0].params).get("groups")
    if log:
        with open(log, "a") as handle:
            handle.write(" ".join(str(job.seed) for job in jobs) + "\n")


def squares_together(jobs: Sequence[ExperimentJob]) -> list[JobResult]:
    """A group function: ``square`` of every job, in one call (logged to the params' ``groups`` file)."""
    _log_group(jobs)
    return [square(job) for job in jobs]


def fail_with_seed_three(jobs: Sequence[ExperimentJob]) -> list[JobResult]:
    """A group function that fails for any group holding seed 3."""
    _log_group(jobs)
    if any(job.seed == 3 for job in jobs):
        raise RuntimeError("a group with seed 3 fails")
    return [square(job) for job in jobs]


def square_unless_three(job: ExperimentJob) -> JobResult:
    """``square``, except that seed 3 always fails."""
    if job.seed == 3:
        raise ValueError("seed 3 is broken")
    return square(job)


def one_result_short(jobs: Sequence[ExperimentJob]) -> list[JobResult]:
    """A group function that forgets its last job."""
    _log_group(jobs)
    return [square(job) for job in jobs[:-1]]


def kill_driver_when_done(script: str, db: str, count: int, timeout_s: float = 60.0) -> int:
    """Run ``script`` (a driver writing to store ``db``) in its own session, SIGKILL its whole group once
    ``count`` jobs are done (or it ended), and return how many jobs the store holds as done."""
    import contextlib
    import signal
    import subprocess
    import sys

    from nasaudit.jobs.store import ResultStore

    driver = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + timeout_s
    while not os.path.exists(db) and time.time() < deadline and driver.poll() is None:
        time.sleep(0.05)  # the driver creates the store (a run folder must not hold files nasaudit did not write)
    store = ResultStore(db)
    while len(store.done_ids("experiment_results")) < count and time.time() < deadline and driver.poll() is None:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):  # the group is gone if the driver already ended
        os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    return len(store.done_ids("experiment_results"))
