"""Grouped jobs: several jobs per call of a group function, each recorded, resumed and retried as its own job."""

from __future__ import annotations

from pathlib import Path

import experiment_jobfns as fns
import pytest

from nasaudit.errors import ConfigError
from nasaudit.jobs.executors import (
    GroupCall,
    GroupResult,
    JobGroup,
    ProcessExecutor,
    SequentialExecutor,
    execute,
    fan_out,
    group_units,
    run_jobs,
)
from nasaudit.jobs.job import ExperimentJob, JobResult, Outcome
from nasaudit.jobs.store import ResultStore

HERE = Path(__file__).resolve().parent


def jobs(log: Path | None = None) -> list[ExperimentJob]:
    """Seeds 0-4 of key ``a`` and 5-6 of key ``b``."""
    params = (("groups", str(log)),) if log else ()
    return [ExperimentJob("toy", "a" if seed < 5 else "b", seed, params=params) for seed in range(7)]


def by_key(job: ExperimentJob) -> str:
    return job.key


def squares(store: ResultStore) -> dict[int, int]:
    frame = store.experiment_results(status="done")
    return {int(s): m["square"] for s, m in zip(frame.seed, frame.metrics, strict=True)}


def groups_called(log: Path) -> list[str]:
    return sorted(log.read_text().splitlines()) if log.exists() else []


def test_units_are_balanced_per_key_and_keep_the_order() -> None:
    mixed = [ExperimentJob("toy", key, seed) for seed, key in enumerate("aaaaabbbaaaaa")]
    units = group_units(mixed, by_key, 8)
    assert [[job.seed for job in unit] for unit in units] == [[0, 1, 2, 3, 4], [8, 9, 10, 11, 12], [5, 6, 7]]
    assert [len(unit) for unit in group_units(mixed, by_key, 3)] == [2, 3, 2, 3, 3]
    assert group_units(mixed, by_key, 1) == group_units(mixed, None, 8) == [(job,) for job in mixed]


def test_fan_out_gives_each_member_its_result_and_a_share_of_the_time() -> None:
    group = JobGroup(tuple(jobs()[:3]))
    results = tuple(JobResult({"square": s * s}) for s in range(3))
    done = Outcome(group, "done", 1, 10.0, 16.0, "w", result=GroupResult({}, members=results))
    members = fan_out(done, {job.job_id: 1 for job in group.members})
    assert [o.job for o in members] == list(group.members) and [o.result for o in members] == list(results)
    assert [(o.started_at, o.finished_at) for o in members] == [(10.0, 12.0), (12.0, 14.0), (14.0, 16.0)]
    assert all(o.ok and o.charged for o in members)
    failed = fan_out(Outcome(group, "failed", 2, 10.0, 16.0, "w", error="boom"), {group.members[0].job_id: 2})
    assert [(o.ok, o.charged, o.attempts, o.error, o.result) for o in failed] == [(False, False, 2, "boom", None)] * 3
    single = Outcome(group.members[0], "done", 1, 0.0, 1.0, "w", result=results[0])
    assert fan_out(single, {}) == [single]


@pytest.mark.parametrize("kind", ["sequential", "processes"])
def test_grouped_jobs_land_in_the_store_as_their_own_rows(tmp_path: Path, kind: str) -> None:
    log = tmp_path / "groups.log"
    executor = SequentialExecutor() if kind == "sequential" else ProcessExecutor(2)
    with ResultStore(tmp_path / "grouped.db") as store, ResultStore(tmp_path / "alone.db") as alone:
        summary = run_jobs(jobs(log), fns.square, store, executor, progress=False, group_fn=fns.squares_together,
                           group_key=by_key, group_size=3)
        run_jobs(jobs(log), fns.square, alone, progress=False)
        assert (summary.total, summary.done, summary.failed, summary.retries) == (7, 7, [], 0)
        assert squares(store) == squares(alone) == {s: s * s for s in range(7)}
        rows = store.experiment_results()
        assert sorted(rows.job_id) == sorted(job.job_id for job in jobs(log)) and (rows.attempts == 1).all()
    assert groups_called(log) == ["0 1", "2 3 4", "5 6"]


def test_a_resumed_run_groups_only_the_missing_jobs(tmp_path: Path) -> None:
    log = tmp_path / "groups.log"
    with ResultStore(tmp_path / "runs.db") as store:
        run_jobs([jobs(log)[0], jobs(log)[2]], fns.square, store, progress=False)
        summary = run_jobs(jobs(log), fns.square, store, progress=False, group_fn=fns.squares_together,
                           group_key=by_key, group_size=8)
        assert (summary.skipped, summary.done) == (2, 5)
        assert squares(store) == {s: s * s for s in range(7)}
    assert groups_called(log) == ["1 3 4", "5 6"]


@pytest.mark.parametrize("kind", ["sequential", "processes"])
def test_a_failing_group_is_split_and_its_members_retried_alone(tmp_path: Path, kind: str) -> None:
    log = tmp_path / "groups.log"
    executor = SequentialExecutor() if kind == "sequential" else ProcessExecutor(2)
    with ResultStore(tmp_path / "runs.db") as store:
        summary = run_jobs(jobs(log), fns.square, store, executor, progress=False, group_fn=fns.fail_with_seed_three,
                           group_key=by_key, group_size=3)
        assert (summary.done, summary.retries, summary.failed) == (7, 3, [])
        rows = store.experiment_results()
        assert (rows.status == "done").all() and (rows.attempts == 1).all()  # the group's failure is not charged
    assert groups_called(log) == ["0 1", "2 3 4", "5 6"]


def test_a_member_that_fails_alone_is_bounded_and_reported(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        summary = run_jobs(jobs(), fns.square_unless_three, store, progress=False, max_attempts=2,
                           group_fn=fns.fail_with_seed_three, group_key=by_key, group_size=3)
        rows = store.experiment_results().set_index("seed")
    assert summary.done == 6 and [(o.job.seed, o.attempts) for o in summary.failed] == [(3, 2)]
    assert rows.loc[3, "status"] == "failed" and "seed 3 is broken" in rows.loc[3, "error"]
    assert (rows.drop(index=3).status == "done").all()


def test_a_group_function_must_return_one_result_per_job(tmp_path: Path) -> None:
    group = JobGroup(tuple(jobs()[:2]))
    outcome = execute(GroupCall(fns.one_result_short), group, 1)
    assert not outcome.ok and "expected one JobResult per job" in (outcome.error or "")
    with ResultStore(tmp_path / "runs.db") as store:
        summary = run_jobs(jobs(), fns.square, store, progress=False, group_fn=fns.one_result_short,
                           group_key=by_key, group_size=3)
        assert (summary.done, summary.retries) == (7, 7) and squares(store) == {s: s * s for s in range(7)}


def test_bad_group_settings_are_config_errors(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        with pytest.raises(ConfigError, match="group_size"):
            run_jobs(jobs(), fns.square, store, progress=False, group_fn=fns.squares_together, group_key=by_key,
                     group_size=0)
        with pytest.raises(ConfigError, match="both group_fn and group_key"):
            run_jobs(jobs(), fns.square, store, progress=False, group_fn=fns.squares_together)


DRIVER = """
import sys
sys.path.insert(0, {here!r})
import experiment_jobfns as fns
from nasaudit.jobs.executors import run_jobs
from nasaudit.jobs.job import ExperimentJob
from nasaudit.jobs.store import ResultStore
jobs = [ExperimentJob("toy", str(s // 6), s, params=(("delay", 0.2), ("log", {log!r}))) for s in range(12)]
run_jobs(jobs, fns.square, ResultStore({db!r}), progress=False, group_fn=fns.squares_together,
         group_key=lambda job: job.key, group_size=3)
"""


def test_a_killed_grouped_run_loses_at_most_the_group_in_flight(tmp_path: Path) -> None:
    db, log = str(tmp_path / "runs.db"), str(tmp_path / "executions.log")
    finished = fns.kill_driver_when_done(DRIVER.format(here=str(HERE), log=log, db=db), db, 3)
    store = ResultStore(db)
    assert 3 <= finished < 12 and finished % 3 == 0  # whole groups are recorded at once
    summary = run_jobs([ExperimentJob("toy", str(s // 6), s, params=(("delay", 0.2), ("log", log)))
                        for s in range(12)], fns.square, store, progress=False, group_fn=fns.squares_together,
                       group_key=by_key, group_size=3)
    store.close()
    assert (summary.skipped, summary.done) == (finished, 12 - finished)
    executed = list(map(int, Path(log).read_text().split()))
    assert sorted(set(executed)) == list(range(12))
    assert len(executed) <= 12 + 3  # at most the group in flight at the kill is repeated
