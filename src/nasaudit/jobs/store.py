"""The results store: every training run and experiment result is a row in a SQL database.

SQLite file by default, any SQLAlchemy URL (e.g. ``postgresql+psycopg2://...``) for a store shared by a
cluster. Each record is written in one transaction (an upsert keyed by the job's deterministic id), so a
killed process loses at most the run in flight. SQLite runs in WAL mode with a busy timeout, and every
write retries on lock contention, so many processes can write to one file at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from nasaudit.errors import DataError
from nasaudit.jobs.job import Outcome
from nasaudit.jobs.provenance import git_commit, package_version

from nasaudit.jobs import DEFAULT_STORE
_BUSY_TIMEOUT_MS = 30_000
_WRITE_RETRIES = 12

_T = TypeVar("_T")

metadata = sa.MetaData()


def _record_columns() -> list[sa.Column]:
    """Status, result, timing and provenance columns shared by both result tables."""
    return [
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("metrics", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("duration_s", sa.Float),
        sa.Column("worker", sa.String(128)),
        sa.Column("package_version", sa.String(32)),
        sa.Column("git_commit", sa.String(64)),
    ]


training_runs = sa.Table(
    "training_runs", metadata,
    sa.Column("job_id", sa.String(32), primary_key=True),
    sa.Column("space", sa.String(64), nullable=False),
    sa.Column("arch", sa.Text, nullable=False),
    sa.Column("canonical", sa.Text, nullable=False),
    sa.Column("protocol", sa.String(64), nullable=False),
    sa.Column("dataset", sa.String(64), nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("options", sa.JSON, nullable=False),
    sa.Column("curves", sa.JSON),
    *_record_columns(),
    sa.Index("ix_training_runs_setting", "space", "protocol", "dataset"),
)

experiment_results = sa.Table(
    "experiment_results", metadata,
    sa.Column("job_id", sa.String(32), primary_key=True),
    sa.Column("experiment", sa.String(128), nullable=False, index=True),
    sa.Column("key", sa.Text, nullable=False),
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    *_record_columns(),
)

builds = sa.Table(
    "builds", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("command", sa.Text, nullable=False),
    sa.Column("package_version", sa.String(32)),
    sa.Column("git_commit", sa.String(64)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

_TABLES = {"training_runs": training_runs, "experiment_results": experiment_results}


def store_url(location: str | Path) -> str:
    """A SQLAlchemy URL for ``location``: URLs pass through, anything else is a SQLite file path."""
    text = str(location)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _is_transient(err: DBAPIError) -> bool:
    """Lock contention, a lost connection, or a concurrent schema creation: worth retrying."""
    text = str(err.orig).lower()
    return isinstance(err, OperationalError) or any(
        word in text for word in ("locked", "busy", "already exists", "duplicate key", "deadlock")
    )


class ResultStore:
    """Rows of training runs, experiment results and benchmark builds behind one SQLAlchemy engine.

    ``ResultStore("runs.db")`` opens (creating if needed) a SQLite file; ``ResultStore(url)`` any
    database SQLAlchemy reaches. Search-phase paper Sec. 3.2: the ground truth of a reduced space is a
    table of per-seed training runs; this is where they live.
    """

    def __init__(self, location: str | Path = DEFAULT_STORE) -> None:
        self.url = store_url(location)
        try:
            self.engine = self._make_engine(self.url)
        except (sa.exc.ArgumentError, ImportError) as err:
            raise DataError(f"cannot open results store {location!s}: {err}") from None
        self._retry(lambda: metadata.create_all(self.engine))

    def __repr__(self) -> str:
        return f"ResultStore({self.engine.url.render_as_string(hide_password=True)!r})"

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    @staticmethod
    def _make_engine(url: str) -> Engine:
        if not url.startswith("sqlite"):
            return sa.create_engine(url, pool_pre_ping=True)
        engine = sa.create_engine(url, connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000})
        in_memory = sa.engine.make_url(url).database in (None, "", ":memory:")

        @sa.event.listens_for(engine, "connect")
        def _configure(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine

    def _retry(self, action: Callable[[], _T]) -> _T:
        """Run ``action`` (one transaction), retrying transient database errors with backoff."""
        delay = 0.05
        for attempt in range(_WRITE_RETRIES):
            try:
                return action()
            except DBAPIError as err:
                if not _is_transient(err) or attempt == _WRITE_RETRIES - 1:
                    raise DataError(f"results store {self.url!r}: {err.orig}") from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    # ---------------------------------------------------------------- writing
    def _upsert(self, table: sa.Table, row: dict[str, Any], *, keep_done: bool) -> None:
        """Insert ``row`` or replace the row with its key, in one transaction; ``keep_done`` never
        overwrites a finished row (a late failure report must not erase a success)."""
        key = [c.name for c in table.primary_key.columns]
        values = {k: v for k, v in row.items() if k not in key}
        dialect = self.engine.dialect.name
        if dialect in ("sqlite", "postgresql"):
            insert = (sqlite.insert if dialect == "sqlite" else postgresql.insert)(table).values(**row)
            where = table.c.status != "done" if keep_done else None
            statement = insert.on_conflict_do_update(index_elements=key, set_=values, where=where)

            def write() -> None:
                with self.engine.begin() as conn:
                    conn.execute(statement)
        else:
            match = sa.and_(*(table.c[k] == row[k] for k in key))

            def write() -> None:
                with self.engine.begin() as conn:
                    if keep_done and conn.execute(
                            sa.select(table.c.status).where(match, table.c.status == "done")).first():
                        return
                    conn.execute(sa.delete(table).where(match))
                    conn.execute(sa.insert(table).values(**row))

        self._retry(write)

    def record(self, outcome: Outcome) -> None:
        """Write one attempt of a job (its success or its failure) as the job's row."""
        table = self._table(outcome.job.table)
        result = outcome.result
        row: dict[str, Any] = {
            "job_id": outcome.job.job_id,
            **outcome.job.columns(),
            "status": outcome.status,
            "attempts": outcome.attempts,
            "metrics": result.metrics if result is not None else None,
            "error": outcome.error,
            "started_at": _utc(outcome.started_at),
            "finished_at": _utc(outcome.finished_at),
            "duration_s": outcome.finished_at - outcome.started_at,
            "worker": outcome.worker,
            "package_version": package_version(),
            "git_commit": git_commit(),
        }
        if table is training_runs:
            row["curves"] = result.curves if result is not None else None
        self._upsert(table, row, keep_done=not outcome.ok)

    def save_build(self, name: str, spec: dict[str, Any], command: str) -> None:
        """Remember a benchmark build's specification and the command that started it."""
        row = {"name": name, "spec": spec, "command": command, "package_version": package_version(),
               "git_commit": git_commit(), "created_at": datetime.now(timezone.utc)}
        self._upsert(builds, row, keep_done=False)

    # ---------------------------------------------------------------- reading
    @staticmethod
    def _table(name: str) -> sa.Table:
        try:
            return _TABLES[name]
        except KeyError:
            raise DataError(f"unknown results table {name!r}; known: {sorted(_TABLES)}") from None

    def done_ids(self, table: str = "training_runs") -> set[str]:
        """Ids of the jobs of ``table`` that finished successfully (skipped on restart)."""
        t = self._table(table)
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(t.c.job_id).where(t.c.status == "done")).scalars())

    def load_build(self, name: str) -> dict[str, Any]:
        """The saved build ``name``: its spec, command, version, commit and creation time."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(builds).where(builds.c.name == name)).mappings().first()
        if row is None:
            raise DataError(f"no benchmark build named {name!r} in {self!r}; known: {self.build_names()}")
        return dict(row)

    def build_names(self) -> list[str]:
        """Names of the saved benchmark builds."""
        with self.engine.connect() as conn:
            return sorted(conn.execute(sa.select(builds.c.name)).scalars())

    def runs(self, *, space: str | None = None, protocol: str | None = None, dataset: str | None = None,
             status: str | None = None, job_ids: Iterable[str] | None = None,
             include_curves: bool = False) -> pd.DataFrame:
        """Training runs as a tidy table (one row per job; ``metrics``/``options`` as dicts)."""
        columns = [c for c in training_runs.c if include_curves or c.name != "curves"]
        query = sa.select(*columns)
        for column, value in (("space", space), ("protocol", protocol), ("dataset", dataset),
                              ("status", status)):
            if value is not None:
                query = query.where(training_runs.c[column] == value)
        frame = self._frame(query, [c.name for c in columns])
        if job_ids is not None:
            frame = frame[frame["job_id"].isin(set(job_ids))].reset_index(drop=True)
        return frame

    def experiment_results(self, experiment: str | None = None, status: str | None = None) -> pd.DataFrame:
        """Experiment results as a tidy table (one row per job)."""
        query = sa.select(experiment_results)
        if experiment is not None:
            query = query.where(experiment_results.c.experiment == experiment)
        if status is not None:
            query = query.where(experiment_results.c.status == status)
        return self._frame(query, [c.name for c in experiment_results.c])

    def _frame(self, query: sa.Select, columns: list[str]) -> pd.DataFrame:
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame(rows, columns=columns)
