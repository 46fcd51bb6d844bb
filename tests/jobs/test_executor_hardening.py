"""Drivers share a build without training a job twice; workers die with their driver; Ray addresses are
checked (issue R2 2/7, items 3, 7 and 11)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import experiment_jobfns as fns
import pytest

from nasaudit.errors import ConfigError
from nasaudit.jobs.executors import RayExecutor, check_reachable, run_jobs
from nasaudit.jobs.job import ExperimentJob
from nasaudit.jobs.store import ResultStore

HERE = Path(fns.__file__).resolve().parent

TWO_DRIVERS = """
import sys
sys.path.insert(0, {here!r})
import experiment_jobfns as fns
from nasaudit.jobs.executors import run_jobs
from nasaudit.jobs.job import ExperimentJob
from nasaudit.jobs.store import ResultStore
jobs = [ExperimentJob("shared", "square", s, params=(("delay", 0.15), ("log", {log!r}))) for s in range(10)]
summary = run_jobs(jobs, fns.square, ResultStore({db!r}), progress=False, lease_s=4.0)
print(summary.skipped, summary.done, len(summary.failed))
"""


def _jobs(log: Path, n: int, delay: float = 0.0) -> list[ExperimentJob]:
    return [ExperimentJob("shared", "square", s, params=(("delay", delay), ("log", str(log)))) for s in range(n)]


def test_two_drivers_of_one_build_never_run_a_job_twice(tmp_path: Path) -> None:
    db, log = str(tmp_path / "runs.db"), tmp_path / "executions.log"
    ResultStore(db).close()  # create the schema once, before the race
    code = TWO_DRIVERS.format(here=str(HERE), log=str(log), db=db)
    drivers = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [d.communicate(timeout=120)[0].split() for d in drivers]
    executed = sorted(map(int, log.read_text().split()))
    assert executed == list(range(10))  # every job exactly once over both drivers
    for skipped, done, failed in outputs:
        assert int(skipped) + int(done) == 10 and failed == "0"  # each waited for the other's jobs
    assert sum(int(done) for _, done, _ in outputs) == 10


def test_a_job_held_by_a_live_driver_is_taken_over_when_its_lease_ends(tmp_path: Path) -> None:
    log = tmp_path / "executions.log"
    jobs = _jobs(log, 3)
    with ResultStore(tmp_path / "runs.db") as store:
        assert store.claim(jobs[1].job_id, "elsewhere:1:abcd", 1.0)
        started = time.time()
        summary = run_jobs(jobs, fns.square, store, progress=False, lease_s=2.0)
        assert store.claim_holder(jobs[0].job_id) is None  # released at the end
    assert summary.done == 3 and time.time() - started >= 0.9
    assert sorted(map(int, log.read_text().split())) == [0, 1, 2]


def test_a_job_held_by_a_dead_driver_of_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    log = tmp_path / "executions.log"
    jobs = _jobs(log, 2)
    with ResultStore(tmp_path / "runs.db") as store:
        assert store.claim(jobs[0].job_id, f"{socket.gethostname()}:{dead.pid}:dead", 3600)
        started = time.time()
        summary = run_jobs(jobs, fns.square, store, progress=False)
    assert summary.done == 2 and time.time() - started < 60


POOL_DRIVER = """
import sys
sys.path.insert(0, {here!r})
import experiment_jobfns as fns
from nasaudit.jobs.executors import ProcessExecutor, run_jobs
from nasaudit.jobs.job import ExperimentJob
from nasaudit.jobs.store import ResultStore
jobs = [ExperimentJob("orphans", "pid", s, params=(("delay", 300.0), ("pids", {pids!r}))) for s in range(4)]
run_jobs(jobs, fns.record_pid, ResultStore({db!r}), ProcessExecutor(2), progress=False)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie waits for a reaper but runs nothing


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_when_their_driver_is_killed(tmp_path: Path) -> None:
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()
    code = POOL_DRIVER.format(here=str(HERE), pids=str(pids_dir), db=str(tmp_path / "runs.db"))
    driver = subprocess.Popen([sys.executable, "-c", code])  # its own group is not killed: only the leader
    workers: list[int] = []
    try:
        deadline = time.time() + 90
        while len(workers) < 2 and time.time() < deadline and driver.poll() is None:
            time.sleep(0.1)
            workers = [int(p.name) for p in pids_dir.iterdir()]
        assert len(workers) == 2, "the two workers never started their jobs"
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
        deadline = time.time() + 15
        while any(map(_alive, workers)) and time.time() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their driver"
    finally:
        with contextlib.suppress(ProcessLookupError):
            driver.kill()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


WATCHED = """
import sys, time
import nasaudit.jobs.executors as executors
sys.platform = "elsewhere"  # no parent-death signal: only the portable watchdog thread
executors.die_with_parent(int(sys.argv[1]), poll_s=0.1)
print("armed", flush=True)
time.sleep(120)
"""
MIDDLE = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())])
print(child.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_watchdog_alone_ends_a_worker_whose_parent_died() -> None:
    middle = subprocess.Popen([sys.executable, "-c", MIDDLE, WATCHED], stdout=subprocess.PIPE, text=True)
    child = 0
    try:
        assert middle.stdout is not None
        child = int(middle.stdout.readline())
        assert middle.stdout.readline().strip() == "armed"
        os.kill(middle.pid, signal.SIGKILL)
        middle.wait()
        deadline = time.time() + 15
        while _alive(child) and time.time() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        with contextlib.suppress(ProcessLookupError):
            middle.kill()
        if child:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)


def test_unreachable_ray_address_is_a_quick_config_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.time()
    with pytest.raises(ConfigError, match=f"cannot reach the Ray cluster at 127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}", timeout_s=5)
    with pytest.raises(ConfigError, match="must look like host:port"):
        check_reachable("ray://nowhere")
    check_reachable("auto")
    assert time.time() - started < 10
    if sys.modules.get("ray") is not None or _ray_installed():
        with pytest.raises(ConfigError, match="cannot reach the Ray cluster"), RayExecutor(f"ray://127.0.0.1:{port}"):
            pass


def _ray_installed() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True
