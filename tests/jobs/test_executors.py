"""Executors: same results sequentially and on processes, skip on restart, bounded retries, crashes, kills."""

from __future__ import annotations

import sys
from pathlib import Path

import experiment_jobfns as fns
import pytest

from nasaudit.errors import ConfigError
from nasaudit.jobs.executors import (
    ProcessExecutor,
    SequentialExecutor,
    execute,
    import_ray,
    make_executor,
    run_jobs,
)
from nasaudit.jobs.job import ExperimentJob
from nasaudit.jobs.store import ResultStore

HERE = Path(__file__).resolve().parent


def jobs(n: int, **params) -> list[ExperimentJob]:
    return [ExperimentJob("toy", "square", seed, params=tuple(sorted(params.items()))) for seed in range(n)]


def squares(store: ResultStore) -> dict[int, int]:
    frame = store.experiment_results(status="done")
    return {int(s): m["square"] for s, m in zip(frame.seed, frame.metrics, strict=True)}


def test_execute_turns_exceptions_and_wrong_types_into_failed_outcomes() -> None:
    good = execute(fns.square, jobs(1)[0], 1)
    assert good.ok and good.result.metrics == {"square": 0} and good.error is None
    bad = execute(fns.always_fail, jobs(1)[0], 2)
    assert not bad.ok and bad.attempts == 2 and "ValueError: seed 0 is broken" in bad.error
    wrong = execute(fns.not_a_result, jobs(1)[0], 1)
    assert not wrong.ok and "expected JobResult" in wrong.error


@pytest.mark.parametrize("kind", ["sequential", "processes"])
def test_every_job_runs_once_and_lands_in_the_store(tmp_path: Path, kind: str) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        job_list = jobs(6) + jobs(2)  # duplicates run once
        summary = run_jobs(job_list, fns.square, store, make_executor(kind, workers=2), progress=False)
        assert (summary.total, summary.skipped, summary.done, summary.failed) == (6, 0, 6, [])
        assert summary.complete
        assert squares(store) == {s: s * s for s in range(6)}
        if kind == "processes":
            assert store.experiment_results().worker.nunique() >= 1


def test_worker_processes_get_a_thread_cap(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        run_jobs(jobs(1), fns.thread_cap, store, ProcessExecutor(1, threads_per_worker=3), progress=False)
        assert store.experiment_results().metrics[0] == {"omp_threads": "3"}


def test_restart_skips_finished_jobs(tmp_path: Path) -> None:
    log = tmp_path / "executions.log"
    with ResultStore(tmp_path / "runs.db") as store:
        run_jobs(jobs(3, log=str(log)), fns.square, store, progress=False)
        summary = run_jobs(jobs(5, log=str(log)), fns.square, store, progress=False)
    assert (summary.skipped, summary.done) == (3, 2)
    assert sorted(map(int, log.read_text().split())) == [0, 1, 2, 3, 4]


def test_transient_failures_are_retried(tmp_path: Path) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    with ResultStore(tmp_path / "runs.db") as store:
        summary = run_jobs(jobs(4, markers=str(markers)), fns.fail_once, store, ProcessExecutor(2),
                           max_attempts=2, progress=False)
        frame = store.experiment_results()
    assert (summary.done, summary.retries, summary.failed) == (4, 4, [])
    assert (frame.status == "done").all() and (frame.attempts == 2).all()


def test_permanent_failures_are_bounded_and_reported(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        summary = run_jobs(jobs(2), fns.always_fail, store, max_attempts=3, progress=False)
        frame = store.experiment_results()
    assert summary.done == 0 and summary.retries == 4 and not summary.complete
    assert [o.attempts for o in summary.failed] == [3, 3]
    assert "failed" in str(summary) and "ValueError: seed 1 is broken" in str(summary)
    assert (frame.status == "failed").all() and frame.error.str.contains("is broken").all()


def test_a_dying_worker_fails_only_its_attempts_and_the_pool_recovers(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        summary = run_jobs(jobs(5), fns.crash_on_seed_zero, store, ProcessExecutor(2), max_attempts=3,
                           progress=False)
    assert summary.done == 4
    assert [o.job.seed for o in summary.failed] == [0]
    assert "BrokenProcessPool" in summary.failed[0].error


DRIVER = """
import sys
sys.path.insert(0, {here!r})
import experiment_jobfns as fns
from nasaudit.jobs.executors import run_jobs
from nasaudit.jobs.job import ExperimentJob
from nasaudit.jobs.store import ResultStore
jobs = [ExperimentJob("toy", "square", s, params=(("delay", 0.2), ("log", {log!r}))) for s in range(12)]
run_jobs(jobs, fns.square, ResultStore({db!r}), progress=False)
"""


def test_killed_driver_loses_nothing_finished_and_rerun_completes_only_the_missing(tmp_path: Path) -> None:
    db, log = str(tmp_path / "runs.db"), str(tmp_path / "executions.log")
    finished = fns.kill_driver_when_done(DRIVER.format(here=str(HERE), log=log, db=db), db, 3)
    store = ResultStore(db)
    assert 3 <= finished < 12
    summary = run_jobs([ExperimentJob("toy", "square", s, params=(("delay", 0.2), ("log", log)))
                        for s in range(12)], fns.square, store, progress=False)
    store.close()
    assert (summary.skipped, summary.done) == (finished, 12 - finished)
    executed = list(map(int, Path(log).read_text().split()))
    assert sorted(set(executed)) == list(range(12))
    assert len(executed) <= 12 + 1  # at most the one run in flight at the kill is repeated


def test_bad_settings_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown executor 'gpu'"):
        make_executor("gpu")
    with pytest.raises(ConfigError, match="at least 1 worker"):
        ProcessExecutor(0)
    with pytest.raises(ConfigError, match="max_attempts"):
        run_jobs([], fns.square, None, SequentialExecutor(), max_attempts=0)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match=r"pip install 'nasaudit\[ray\]'"):
        import_ray()


def test_ray_workers_get_the_listed_plugins_in_their_runtime_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ray cluster's workers do not inherit the driver's environment: ``NASAUDIT_PLUGINS`` travels in the tasks'
    runtime environment, so a user's method or strategy is known where its jobs run (issue #23)."""
    import types

    from nasaudit.jobs.executors import RayExecutor
    from nasaudit.plugins import ENV

    options: list[dict[str, object]] = []
    fake = types.SimpleNamespace(is_initialized=lambda: True, cluster_resources=lambda: {"CPU": 2},
                                 remote=lambda **kw: options.append(kw) or (lambda fn: fn))
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setenv(ENV, "my_plugin.py")
    RayExecutor().start()
    monkeypatch.delenv(ENV)
    RayExecutor().start()
    assert options[0]["runtime_env"] == {"env_vars": {ENV: "my_plugin.py"}}
    assert "runtime_env" not in options[1] and options[1]["max_retries"] == 0
