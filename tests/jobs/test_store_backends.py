"""SQLite and PostgreSQL stores store or refuse the same values; claims; deleting builds; bad files
(issue R2 2/7, items 4, 5, 7 and 11). PostgreSQL runs when ``NASAUDIT_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nasaudit.errors import DataError
from nasaudit.jobs.job import ExperimentJob, JobResult, Outcome
from nasaudit.jobs.store import FLOAT_TAG, ResultStore
from nasaudit.truth.builder import TrainJob

ARCH = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResultStore]:
    if request.param == "sqlite":
        location = str(tmp_path / "runs.db")
    else:
        location = os.environ.get("NASAUDIT_TEST_POSTGRES_URL", "")
        if not location:
            pytest.skip("NASAUDIT_TEST_POSTGRES_URL is unset: start a server with `eval \"$(bash .ci/postgres.sh)\"`")
        pytest.importorskip("psycopg2")
    with ResultStore(location) as opened:
        yield opened


def _unique() -> str:
    return uuid.uuid4().hex[:12]  # a PostgreSQL database outlives the test: fresh names every time


def _job(key: str | None = None, experiment: str = "hardening") -> ExperimentJob:
    return ExperimentJob(experiment=experiment, key=key or _unique(), seed=0)


def _done(job: object, metrics: dict[str, object], curves: dict[str, list[float]] | None = None) -> Outcome:
    now = time.time()
    return Outcome(job, "done", 1, now - 1.0, now, "host:1",  # type: ignore[arg-type]
                   result=JobResult(metrics, curves or {}))


def test_non_finite_metrics_round_trip_identically(store: ResultStore) -> None:
    metrics = {"nan": math.nan, "inf": math.inf, "neg": -math.inf, "list": [1.0, math.nan], "ok": 0.5,
               "text": "NaN"}
    job = TrainJob(space="nb201", arch=ARCH, canonical="k", protocol="p", dataset="d", seed=int(time.time() * 1e3)
                   % 10**9, options=(("lr", math.inf),))
    store.record(_done(job, metrics, {"loss": [math.nan, 1.0]}))
    row = store.runs(job_ids=[job.job_id], include_curves=True).iloc[0]
    assert row.status == "done" and row.options == {"lr": math.inf}
    got = row.metrics
    assert math.isnan(got["nan"]) and got["inf"] == math.inf and got["neg"] == -math.inf
    assert math.isnan(got["list"][1]) and got["ok"] == 0.5 and got["text"] == "NaN"
    assert math.isnan(row.curves["loss"][0]) and job.job_id in store.done_ids()


def test_build_spec_with_nan_round_trips(store: ResultStore) -> None:
    name = f"b-{_unique()}"
    store.save_build(name, {"epochs": 2, "budget": math.nan}, "nasaudit bench build")
    spec = store.load_build(name)["spec"]
    assert spec["epochs"] == 2 and math.isnan(spec["budget"]) and FLOAT_TAG not in str(spec)


@pytest.mark.parametrize("where", ["key", "experiment", "metric", "metric_key"])
def test_nul_characters_are_refused_everywhere(store: ResultStore, where: str) -> None:
    job = _job(key="a\x00b" if where == "key" else None, experiment="x\x00" if where == "experiment" else "e")
    metrics = {"v": "a\x00"} if where == "metric" else {"k\x00": 1} if where == "metric_key" else {"v": 1}
    with pytest.raises(DataError, match="NUL character"):
        store.record(_done(job, metrics))


def test_nul_in_an_error_text_is_kept_escaped(store: ResultStore) -> None:
    job = _job()
    now = time.time()
    store.record(Outcome(job, "failed", 1, now, now, "host:1", error="Traceback\nValueError: a\x00b"))
    frame = store.experiment_results(experiment="hardening")
    assert frame.loc[frame.job_id == job.job_id, "error"].item().endswith("a\\x00b")


def test_names_longer_than_their_column_are_refused(store: ResultStore) -> None:
    longest = "e" * 128
    store.record(_done(_job(experiment=longest), {"v": 1}))
    with pytest.raises(DataError, match=r"experiment_results\.experiment .* 129 characters; .* at most 128"):
        store.record(_done(_job(experiment=longest + "x"), {"v": 1}))
    with pytest.raises(DataError, match="at most 128"):
        store.save_build("b" * 129, {}, "cmd")
    with pytest.raises(DataError, match="at most 64"):
        store.record(_done(TrainJob(space="s" * 65, arch=ARCH, canonical="k", protocol="p", dataset="d", seed=0,
                                    options=()), {"v": 1}))


def test_claims_are_exclusive_until_released_or_expired(store: ResultStore) -> None:
    job_id, a, b = _unique(), f"a-{_unique()}", f"b-{_unique()}"
    assert store.claim(job_id, a, 30)
    assert not store.claim(job_id, b, 30)
    assert store.claim(job_id, a, 30)  # its own lease is renewed
    assert store.claim_holder(job_id)[0] == a  # type: ignore[index]
    assert store.claim(job_id, b, 30, stale=a)  # a is known to be dead
    assert store.renew([job_id], b, 0.2) == 1 and store.renew([job_id], a, 30) == 0
    time.sleep(0.4)
    assert store.claim(job_id, a, 30)  # b's lease expired
    store.release(a, [job_id])
    assert store.claim_holder(job_id) is None and store.claim(job_id, b, 30)
    store.release(b)
    assert store.claim_holder(job_id) is None
    with pytest.raises(DataError, match="positive"):
        store.claim(job_id, a, 0)


def test_concurrent_claims_give_each_job_to_exactly_one_worker(store: ResultStore) -> None:
    jobs = [_unique() for _ in range(12)]
    wins: dict[str, list[str]] = {job: [] for job in jobs}
    lock = threading.Lock()

    def worker(name: str) -> None:
        for job in jobs:
            if store.claim(job, name, 60):
                with lock:
                    wins[job].append(name)

    threads = [threading.Thread(target=worker, args=(f"w{i}-{_unique()}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(len(names) == 1 for names in wins.values()), wins


def test_delete_build_removes_the_build_and_its_runs(store: ResultStore) -> None:
    name = f"b-{_unique()}"
    store.save_build(name, {"seeds": [0]}, "cmd")
    seed = int(time.time() * 1e3) % 10**9
    mine, other = (TrainJob(space="nb201", arch=ARCH, canonical="k", protocol="p", dataset="d", seed=seed + i,
                            options=()) for i in range(2))
    for job in (mine, other):
        store.record(_done(job, {"v": 1}))
    assert store.claim(mine.job_id, "w", 60)
    assert store.delete_build(name, [mine.job_id, mine.job_id]) == 1
    assert name not in store.build_names() and store.claim_holder(mine.job_id) is None
    assert set(store.runs(job_ids=[mine.job_id, other.job_id]).job_id) == {other.job_id}
    with pytest.raises(DataError, match="no benchmark build named"):
        store.delete_build(name)


def _quick_data_error(location: object, match: str) -> None:
    started = time.perf_counter()
    with pytest.raises(DataError, match=match) as info:
        ResultStore(location)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert time.perf_counter() - started < 10  # not retried as if the file were merely locked


def test_corrupt_foreign_and_misplaced_sqlite_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x13\x37 not SQLite " * 300)
    _quick_data_error(garbage, "not a database")
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE builds (name TEXT, owner TEXT)")
    _quick_data_error(foreign, "not a nasaudit results store: its table 'builds' lacks column")
    (tmp_path / "file").write_text("")
    _quick_data_error(tmp_path / "file" / "runs.db", "cannot create the folder of results store")
    _quick_data_error(tmp_path, "is a folder")
