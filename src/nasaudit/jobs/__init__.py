"""Jobs, the SQL results store, executors (sequential, processes, Ray) and provenance.

This package knows nothing of NAS: a job is a frozen dataclass with a deterministic id, an executor runs
job functions and records outcomes in the store. Everything above it (studies, the audit runner, the
benchmark builder) describes its work as jobs. Submodules are imported on first use (``nasaudit.jobs.store``
needs SQLAlchemy and pandas), so importing the package itself is free.
"""

#: where a store lives when none is named
DEFAULT_STORE = "nasaudit.db"
#: the executor kinds ``make_executor`` builds
EXECUTOR_KINDS: tuple[str, ...] = ("sequential", "processes", "ray")
