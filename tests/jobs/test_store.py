"""The SQL results store: atomic upserts, failure/success rules, tidy reads, concurrent writers, PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import time
from pathlib import Path

import pytest

from nasaudit.errors import DataError
from nasaudit.jobs.job import ExperimentJob, JobResult, Outcome
from nasaudit.jobs.provenance import package_version
from nasaudit.jobs.store import ResultStore, store_url
from nasaudit.truth.builder import TrainJob

ARCH = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


def train_job(seed: int = 0, arch: str = ARCH) -> TrainJob:
    return TrainJob(space="nb201", arch=arch, canonical=f"key-{arch}", protocol="cpu_small",
                    dataset="embedded", seed=seed, options=(("width", 8),))


def done(job, metrics=None, curves=None, attempts=1) -> Outcome:
    now = time.time()
    return Outcome(job, "done", attempts, now - 2.0, now, "host:1",
                   result=JobResult(metrics or {"test_acc": 50.0 + job.seed}, curves or {"loss": [2.0, 1.5]}))


def failed(job, attempts=1) -> Outcome:
    now = time.time()
    return Outcome(job, "failed", attempts, now - 1.0, now, "host:1", error="Traceback...\nValueError: boom")


def test_sqlite_path_becomes_url_and_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "runs.db"
    assert store_url(path) == f"sqlite:///{path.resolve()}"
    assert store_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    with ResultStore(path) as store:
        store.record(done(train_job()))
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_training_run_round_trip_keeps_every_field(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        job = train_job(seed=3)
        store.record(done(job, metrics={"test_acc": 61.5, "params": 1234}, curves={"loss": [2.0, 1.0]}))
        frame = store.runs(include_curves=True)
    row = frame.iloc[0]
    assert row.job_id == job.job_id and row.arch == ARCH and row.canonical == f"key-{ARCH}"
    assert (row.space, row.protocol, row.dataset, row.seed) == ("nb201", "cpu_small", "embedded", 3)
    assert row.options == {"width": 8}
    assert row.metrics == {"test_acc": 61.5, "params": 1234}
    assert row.curves == {"loss": [2.0, 1.0]}
    assert row.status == "done" and row.attempts == 1 and row.error is None
    assert row.duration_s == pytest.approx(2.0)
    assert row.package_version == package_version()
    assert row.worker == "host:1"
    assert "curves" not in store.runs().columns


def test_failure_is_recorded_then_replaced_by_success(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        job = train_job()
        store.record(failed(job))
        assert store.runs().status.tolist() == ["failed"]
        assert store.done_ids() == set()
        store.record(done(job, attempts=2))
        frame = store.runs()
        assert frame.status.tolist() == ["done"] and frame.attempts.tolist() == [2]
        assert store.done_ids() == {job.job_id}


def test_late_failure_never_erases_a_success(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        job = train_job()
        store.record(done(job))
        store.record(failed(job, attempts=3))
        frame = store.runs()
    assert frame.status.tolist() == ["done"] and frame.error.isna().all()


def test_filters_and_job_id_selection(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        jobs = [train_job(seed) for seed in range(4)]
        for job in jobs[:3]:
            store.record(done(job))
        store.record(failed(jobs[3]))
        assert len(store.runs(space="nb201", protocol="cpu_small", dataset="embedded")) == 4
        assert len(store.runs(status="done")) == 3
        assert store.runs(dataset="cifar10").empty
        picked = store.runs(job_ids=[jobs[1].job_id, jobs[3].job_id])
        assert sorted(picked.seed) == [1, 3]


def test_experiment_results_table(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        job = ExperimentJob("search", "random", seed=2, params=(("budget", 100),))
        store.record(done(job, metrics={"best_acc": 93.1}))
        frame = store.experiment_results("search")
        assert store.done_ids("experiment_results") == {job.job_id}
        assert store.done_ids("training_runs") == set()
        assert store.runs().empty
    assert frame.params.tolist() == [{"budget": 100}]
    assert frame.metrics.tolist() == [{"best_acc": 93.1}]


def test_builds_are_saved_and_unknown_ones_named(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "runs.db") as store:
        store.save_build("mini", {"space": "nb201", "seeds": [0, 1]}, "nasaudit bench build mini")
        build = store.load_build("mini")
        assert build["spec"] == {"space": "nb201", "seeds": [0, 1]}
        assert build["command"] == "nasaudit bench build mini"
        assert store.build_names() == ["mini"]
        with pytest.raises(DataError, match=r"no benchmark build named 'other'.*mini"):
            store.load_build("other")
        with pytest.raises(DataError, match="unknown results table"):
            store.done_ids("nope")


def test_unusable_url_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="cannot open results store"):
        ResultStore("nosuchdialect://x/y")


def _write_many(location: str, first_seed: int, count: int) -> None:
    with ResultStore(location) as store:
        for seed in range(first_seed, first_seed + count):
            job = train_job(seed=seed)
            store.record(failed(job))
            store.record(done(job))


def _postgres_url() -> str:
    url = os.environ.get("NASAUDIT_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("NASAUDIT_TEST_POSTGRES_URL is unset: start a server with `eval \"$(bash .ci/postgres.sh)\"`")
    pytest.importorskip("psycopg2", reason="the PostgreSQL driver is the 'postgres' extra")
    return url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_many_concurrent_writers_do_not_corrupt_the_store(tmp_path: Path, backend: str) -> None:
    location = str(tmp_path / "shared.db") if backend == "sqlite" else _postgres_url()
    base = int(time.time() * 1000) % 1_000_000_000  # fresh seeds: a PostgreSQL database outlives the test
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_many, args=(location, base + 100 * w, 25)) for w in range(4)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    expected = {train_job(seed=base + 100 * w + i).job_id for w in range(4) for i in range(25)}
    with ResultStore(location) as store:
        frame = store.runs(job_ids=expected)
    assert len(frame) == 100 and (frame.status == "done").all()
    if backend == "sqlite":
        with sqlite3.connect(location) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_postgresql_store_round_trip() -> None:
    with ResultStore(_postgres_url()) as store:
        job = train_job(seed=int(time.time() * 1000) % 1_000_000)
        store.record(failed(job))
        store.record(done(job, attempts=2, metrics={"test_acc": 70.25}))
        store.record(failed(job, attempts=3))
        row = store.runs(job_ids=[job.job_id], include_curves=True).iloc[0]
        assert job.job_id in store.done_ids()
    assert (row.status, row.attempts) == ("done", 2)
    assert row.metrics == {"test_acc": 70.25} and row.curves == {"loss": [2.0, 1.5]}


def _foreign(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    return path


def _state(path: Path) -> tuple[list[str], str]:
    with sqlite3.connect(path) as db:
        return (sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")),
                db.execute("PRAGMA journal_mode").fetchone()[0])


def test_another_programs_database_is_refused_untouched(tmp_path: Path) -> None:
    """Issue #22 item 11: no nasaudit tables are added to a database holding only others, and it is not
    switched to WAL; asked for explicitly (``create_tables``), the tables are added and it opens from then on."""
    other = _foreign(tmp_path / "other.db")
    with pytest.raises(DataError, match=r"not a nasaudit results store.*invoices"):
        ResultStore(other)
    assert _state(other) == (["invoices"], "delete")
    ResultStore(other, create_tables=True).close()
    tables, mode = _state(other)
    assert {"invoices", "experiment_results", "training_runs", "job_claims", "builds"} <= set(tables)
    assert mode == "wal"
    ResultStore(other).close()  # it holds nasaudit's tables now


@pytest.mark.parametrize("content", [b"", None], ids=["empty file", "new path"])
def test_a_new_or_empty_database_file_is_created(content: bytes | None, tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    if content is not None:
        path.write_bytes(content)
    ResultStore(path).close()
    assert "experiment_results" in _state(path)[0]


def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("my notes, not SQLite" * 20)
    with pytest.raises(DataError, match=r"notes\.db is not a nasaudit results store"):
        ResultStore(path)
    assert path.read_text() == "my notes, not SQLite" * 20
