"""The results store: every training run and experiment result is a row in a SQL database.

SQLite file by default, any SQLAlchemy URL (e.g. ``postgresql+psycopg2://...``) for a store shared by a
cluster. Each record is written in one transaction (an upsert keyed by the job's deterministic id), so a
killed process loses at most the run in flight. SQLite runs in WAL mode with a busy timeout, and every
write retries on lock contention, so many processes can write to one file at once.

Both backends store and refuse the same values (hardening issue R2 2/7, item 5): non-finite floats in JSON
are written as ``{"$float": "nan"}`` and read back as floats, NUL characters and names longer than their
column are refused with ``DataError``. A job is *claimed* with a lease before it runs (item 11), so two
runs of the same build never train the same job at once.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from nasaudit.errors import DataError
from nasaudit.jobs import DEFAULT_STORE
from nasaudit.jobs.job import Outcome
from nasaudit.jobs.provenance import git_commit, package_version

_BUSY_TIMEOUT_MS = 30_000
_WRITE_RETRIES = 12
#: how a non-finite float is written inside a JSON column (PostgreSQL's JSON cannot hold NaN or Infinity)
FLOAT_TAG = "$float"
#: ids per ``IN (...)`` list (SQLite caps the bound parameters of one statement)
_CHUNK = 500
#: error text of a database error that retrying cannot fix
_PERMANENT = ("unable to open", "not a database", "no such table", "no such column", "readonly", "malformed",
              "does not exist", "authentication failed")

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

job_claims = sa.Table(
    "job_claims", metadata,
    sa.Column("job_id", sa.String(32), primary_key=True),
    sa.Column("worker", sa.String(128), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(f"cannot create the folder of results store {path}: {err.strerror}") from None
    if path.is_dir():
        raise DataError(f"results store {path} is a folder, not a database file")
    return f"sqlite:///{path}"


def encode_json(value: Any, where: str) -> Any:
    """``value`` ready for a JSON column on every backend: non-finite floats tagged, NUL refused."""
    if isinstance(value, float) and not math.isfinite(value):
        return {FLOAT_TAG: repr(float(value))}
    if isinstance(value, str):
        return _check_text(value, where)
    if isinstance(value, dict):
        return {_check_text(str(k), where): encode_json(v, where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode_json(v, where) for v in value]
    return value


def decode_json(value: Any) -> Any:
    """The inverse of ``encode_json``: tagged floats back to ``nan`` / ``inf`` / ``-inf``."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(FLOAT_TAG), str):
            return float(value[FLOAT_TAG])
        return {k: decode_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_json(v) for v in value]
    return value


def _check_text(value: str, where: str) -> str:
    if "\x00" in value:
        raise DataError(f"{where} contains a NUL character, which the results store refuses: {value[:60]!r}")
    return value


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    items = list(dict.fromkeys(ids))
    return (items[i:i + _CHUNK] for i in range(0, len(items), _CHUNK))


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _is_transient(err: DBAPIError) -> bool:
    """Lock contention, a lost connection, or a concurrent schema creation: worth retrying."""
    text = str(err.orig).lower()
    if any(word in text for word in _PERMANENT):
        return False
    return isinstance(err, OperationalError) or any(
        word in text for word in ("locked", "busy", "already exists", "duplicate key", "deadlock")
    )


class ResultStore:
    """Rows of training runs, experiment results and benchmark builds behind one SQLAlchemy engine.

    ``ResultStore("runs.db")`` opens (creating if needed) a SQLite file; ``ResultStore(url)`` any
    database SQLAlchemy reaches. Search-phase paper Sec. 3.2: the ground truth of a reduced space is a
    table of per-seed training runs; this is where they live.
    """

    def __init__(self, location: str | Path = DEFAULT_STORE, *, create_tables: bool = False) -> None:
        self.url = store_url(location)
        sqlite_tables = self._sqlite_tables(self.url, location)  # read before the engine switches a file to WAL
        try:
            self.engine = self._make_engine(self.url)
        except (sa.exc.ArgumentError, ImportError) as err:
            raise DataError(f"cannot open results store {location!s}: {err}") from None
        if not create_tables:
            tables = sqlite_tables if sqlite_tables is not None else self._retry(
                lambda: set(sa.inspect(self.engine).get_table_names()))
            try:
                self._refuse_foreign(location, tables)
            except DataError:
                self.close()
                raise
        self._retry(lambda: metadata.create_all(self.engine))
        self._check_schema(location)

    def __repr__(self) -> str:
        return f"ResultStore({self._shown_url()!r})"

    def _shown_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

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

    @staticmethod
    def _sqlite_tables(url: str, location: str | Path) -> set[str] | None:
        """The tables of an existing, non-empty SQLite file, read without writing to it; None for another
        backend, an in-memory database or a file not there yet (nothing of anyone's to protect)."""
        if not url.startswith("sqlite"):
            return None
        database = sa.engine.make_url(url).database
        if database in (None, "", ":memory:"):
            return None
        path = Path(database)
        try:
            if not path.is_file() or path.stat().st_size == 0:
                return None
            conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_MS / 1000)
            try:
                rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as err:
            raise DataError(f"{location} is not a nasaudit results store: cannot read it as SQLite ({err})") from None
        return {str(row[0]) for row in rows}

    @staticmethod
    def _refuse_foreign(location: str | Path, tables: set[str]) -> None:
        """Refuse a database that holds tables but none of nasaudit's: another program's, which must not get our
        tables (nor, for SQLite, be switched to WAL) unless asked for (``create_tables``)."""
        theirs = sorted(t for t in tables if not t.startswith("sqlite_"))
        if theirs and not set(theirs) & set(metadata.tables):
            shown = ", ".join(theirs[:5]) + (", ..." if len(theirs) > 5 else "")
            raise DataError(f"{location} is not a nasaudit results store (it holds other tables: {shown}); give a "
                            "new file, or ask to add nasaudit's tables to it (nasaudit run --create-store)")

    def _check_schema(self, location: str | Path) -> None:
        """Refuse a database whose tables of our names lack our columns (another program's database)."""
        def missing_columns() -> dict[str, list[str]]:
            inspector = sa.inspect(self.engine)
            return {t.name: sorted(set(t.c.keys()) - {c["name"] for c in inspector.get_columns(t.name)})
                    for t in metadata.sorted_tables}

        for table, missing in self._retry(missing_columns).items():
            if missing:
                self.close()
                raise DataError(f"{location} is not a nasaudit results store: its table {table!r} lacks "
                                f"column(s) {missing}")

    def _retry(self, action: Callable[[], _T]) -> _T:
        """Run ``action`` (one transaction), retrying transient database errors with backoff."""
        delay = 0.05
        for attempt in range(_WRITE_RETRIES):
            try:
                return action()
            except DBAPIError as err:
                if not _is_transient(err) or attempt == _WRITE_RETRIES - 1:
                    reason = " ".join(str(err.orig).split())
                    raise DataError(f"results store {self._shown_url()}: {reason}") from None
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    # ---------------------------------------------------------------- writing
    def _upsert(self, table: sa.Table, row: dict[str, Any], *, keep_done: bool) -> None:
        """Insert ``row`` or replace the row with its key, in one transaction; ``keep_done`` never
        overwrites a finished row (a late failure report must not erase a success)."""
        row = self._checked_row(table, row)
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

    @staticmethod
    def _checked_row(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
        """The row as every backend will store it: JSON encoded, NUL and over-long names refused."""
        out: dict[str, Any] = {}
        for name, value in row.items():
            column = table.c[name]
            where = f"{table.name}.{name}"
            if isinstance(column.type, sa.JSON):
                value = encode_json(value, where)
            elif isinstance(value, str):
                if name == "error":  # free text from a traceback: keep it, visibly escaped
                    value = value.replace("\x00", "\\x00")
                _check_text(value, where)
                limit = getattr(column.type, "length", None)
                if limit is not None and len(value) > limit:
                    raise DataError(f"{where} {value[:40]!r}... has {len(value)} characters; the results store "
                                    f"holds at most {limit}")
            out[name] = value
        return out

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
            "worker": outcome.worker[:128],
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

    def delete_build(self, name: str, job_ids: Iterable[str] = ()) -> int:
        """Delete build ``name`` and the training runs (and claims) among ``job_ids``, in one transaction.

        The store does not know which runs a build owns: the caller passes them (the ids of the build's
        jobs, less any another build shares). Returns how many training runs were deleted.
        """
        if name not in self.build_names():
            raise DataError(f"no benchmark build named {name!r} in {self!r}; known: {self.build_names()}")

        def delete() -> int:
            deleted = 0
            with self.engine.begin() as conn:
                conn.execute(sa.delete(builds).where(builds.c.name == name))
                for chunk in _chunks(job_ids):
                    deleted += conn.execute(sa.delete(training_runs).where(training_runs.c.job_id.in_(chunk))
                                            ).rowcount
                    conn.execute(sa.delete(job_claims).where(job_claims.c.job_id.in_(chunk)))
            return deleted

        return self._retry(delete)

    # ---------------------------------------------------------------- claims
    def claim(self, job_id: str, worker: str, lease_s: float, *, stale: str | None = None) -> bool:
        """Atomically claim ``job_id`` for ``worker`` for ``lease_s`` seconds; False when another worker
        holds a live lease. A lease of ``worker`` itself is renewed; an expired one, or one held by
        ``stale`` (a worker known to be dead), is taken over. Same semantics on SQLite and PostgreSQL:
        a conditional ``UPDATE`` then an ``INSERT`` that the primary key makes fail for all but one."""
        if lease_s <= 0 or not math.isfinite(lease_s):
            raise DataError(f"a lease must last a positive number of seconds, got {lease_s}")
        now = time.time()
        row = self._checked_row(job_claims, {"job_id": job_id, "worker": worker, "expires_at": now + lease_s})
        takeable = (job_claims.c.expires_at < now) | (job_claims.c.worker == worker)
        if stale is not None:
            takeable = takeable | (job_claims.c.worker == stale)

        def take() -> bool:
            with self.engine.begin() as conn:
                updated = conn.execute(sa.update(job_claims).where(job_claims.c.job_id == job_id, takeable)
                                       .values(worker=worker, expires_at=row["expires_at"])).rowcount
            if updated:
                return True
            try:
                with self.engine.begin() as conn:
                    conn.execute(sa.insert(job_claims).values(**row))
            except IntegrityError:  # another worker holds it (or took it between our two statements)
                return False
            return True

        return self._retry(take)

    def renew(self, job_ids: Iterable[str], worker: str, lease_s: float) -> int:
        """Extend ``worker``'s leases on ``job_ids`` by ``lease_s`` from now; returns how many it holds."""
        expires = time.time() + lease_s

        def renew() -> int:
            count = 0
            with self.engine.begin() as conn:
                for chunk in _chunks(job_ids):
                    count += conn.execute(sa.update(job_claims).where(
                        job_claims.c.worker == worker, job_claims.c.job_id.in_(chunk)).values(expires_at=expires)
                    ).rowcount
            return count

        return self._retry(renew)

    def release(self, worker: str, job_ids: Iterable[str] | None = None) -> None:
        """Drop ``worker``'s claims on ``job_ids`` (all of its claims when None)."""

        def release() -> None:
            with self.engine.begin() as conn:
                if job_ids is None:
                    conn.execute(sa.delete(job_claims).where(job_claims.c.worker == worker))
                    return
                for chunk in _chunks(job_ids):
                    conn.execute(sa.delete(job_claims).where(job_claims.c.worker == worker,
                                                             job_claims.c.job_id.in_(chunk)))

        self._retry(release)

    def claim_holder(self, job_id: str) -> tuple[str, float] | None:
        """``(worker, expires_at)`` of the claim on ``job_id``, or None when nobody claims it."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(job_claims.c.worker, job_claims.c.expires_at)
                               .where(job_claims.c.job_id == job_id)).first()
        return None if row is None else (str(row[0]), float(row[1]))

    # ---------------------------------------------------------------- reading
    @staticmethod
    def _table(name: str) -> sa.Table:
        try:
            return _TABLES[name]
        except KeyError:
            raise DataError(f"unknown results table {name!r}; known: {sorted(_TABLES)}") from None

    def done_ids(self, table: str = "training_runs", job_ids: Iterable[str] | None = None) -> set[str]:
        """Ids of the jobs of ``table`` (among ``job_ids`` when given) that finished successfully."""
        t = self._table(table)
        query = sa.select(t.c.job_id).where(t.c.status == "done")
        with self.engine.connect() as conn:
            if job_ids is None:
                return set(conn.execute(query).scalars())
            return {i for chunk in _chunks(job_ids) for i in conn.execute(query.where(t.c.job_id.in_(chunk))).scalars()}

    def load_build(self, name: str) -> dict[str, Any]:
        """The saved build ``name``: its spec, command, version, commit and creation time."""
        query = sa.select(builds).where(builds.c.name == name)
        with self._reading(query), self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
            if row is not None:
                return {k: decode_json(v) if k == "spec" else v for k, v in row.items()}
        raise DataError(f"no benchmark build named {name!r} in {self!r}; known: {self.build_names()}")

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

    def experiment_results(self, experiment: str | None = None, status: str | None = None,
                           job_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Experiment results as a tidy table (one row per job; only ``job_ids`` when given, read by id)."""
        query = sa.select(experiment_results)
        if experiment is not None:
            query = query.where(experiment_results.c.experiment == experiment)
        if status is not None:
            query = query.where(experiment_results.c.status == status)
        columns = [c.name for c in experiment_results.c]
        if job_ids is None:
            return self._frame(query, columns)
        frames = [frame for chunk in _chunks(job_ids)
                  if len(frame := self._frame(query.where(experiment_results.c.job_id.in_(chunk)), columns))]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)

    def _frame(self, query: sa.Select, columns: list[str]) -> pd.DataFrame:
        json_columns = {c.name for c in query.selected_columns if isinstance(c.type, sa.JSON)}
        with self._reading(query), self.engine.connect() as conn:
            rows = conn.execute(query).all()
            decoded = [[decode_json(v) if name in json_columns else v for name, v in zip(columns, row, strict=True)]
                       for row in rows]
        if "metrics" in columns and "status" in columns:  # a finished job always recorded a JSON object
            at, status = columns.index("metrics"), columns.index("status")
            if any(row[status] == "done" and not isinstance(row[at], dict) for row in decoded):
                tables = ", ".join(sorted({t.name for t in query.get_final_froms() if isinstance(t, sa.Table)}))
                raise DataError(f"the results store {self._shown_url()} holds a finished row of {tables} whose "
                                "metrics are not a JSON object; it was edited or damaged")
        return pd.DataFrame(decoded, columns=columns)

    @contextlib.contextmanager
    def _reading(self, query: sa.Select) -> Iterator[None]:
        """Rows that do not decode (text where JSON or a timestamp belongs, JSON nested 100k deep: a store edited
        by hand or damaged) become one ``DataError`` naming the store and the table."""
        try:
            yield
        except (ValueError, TypeError, RecursionError) as err:
            tables = ", ".join(sorted({t.name for t in query.get_final_froms() if isinstance(t, sa.Table)}))
            raise DataError(f"the results store {self._shown_url()} holds a row of {tables or 'a table'} that "
                            f"cannot be read ({type(err).__name__}); it was edited or damaged") from None
