"""Job descriptions for the executors: picklable frozen dataclasses with a deterministic id.

A job says *what* to compute, never how or where: the same job list runs sequentially, on local
worker processes or on a Ray cluster (search-phase paper Sec. 3.2: every architecture of a reduced
space trained with several seeds). The id is a hash of the job's identity, so a restarted build
recognises the runs it already finished.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from nasaudit.errors import ConfigError

#: JSON scalars allowed as job options (they go into the id and the store as JSON).
OptionValue = str | int | float | bool | None
Options = tuple[tuple[str, OptionValue], ...]


def freeze_options(options: Mapping[str, OptionValue] | Options | None) -> Options:
    """Sorted ``(key, value)`` pairs of JSON scalars: a hashable, order-free form of keyword options."""
    items = dict(options or {})
    for key, value in items.items():
        if not isinstance(key, str) or not (value is None or isinstance(value, (str, int, float, bool))):
            raise ConfigError(
                f"job option {key!r}={value!r} must map a string to a JSON scalar (str, int, float, bool, None)"
            )
    return tuple(sorted(items.items()))


def digest(kind: str, identity: Mapping[str, Any]) -> str:
    text = json.dumps({"kind": kind, **identity}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@runtime_checkable
class Job(Protocol):
    """What the executors and the store need from a job."""

    #: the store table its result goes to
    table: ClassVar[str]

    @property
    def job_id(self) -> str:
        """Deterministic id: equal jobs, equal ids, across processes and machines."""
        ...

    def columns(self) -> dict[str, Any]:
        """The identity columns the store writes for this job."""
        ...


@dataclass(frozen=True)
class ExperimentJob:
    """One unit of an experiment (e.g. one search strategy run with one seed) whose result is a record."""

    table: ClassVar[str] = "experiment_results"

    experiment: str
    key: str
    seed: int
    params: Options = ()

    @property
    def job_id(self) -> str:
        return digest(self.table, {"experiment": self.experiment, "key": self.key, "seed": self.seed,
                                    "params": self.params})

    def columns(self) -> dict[str, Any]:
        return {"experiment": self.experiment, "key": self.key, "seed": self.seed, "params": dict(self.params)}


@dataclass(frozen=True)
class JobResult:
    """What a job function returns: final metrics and (for training) per-epoch curves."""

    metrics: dict[str, Any]
    curves: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """One attempt at a job, as the worker saw it: ``status`` is ``"done"`` or ``"failed"``."""

    job: Job
    status: str
    attempts: int
    started_at: float
    finished_at: float
    worker: str
    result: JobResult | None = None
    error: str | None = None
    #: False when the failure cannot be blamed on this job (its worker pool broke under another job):
    #: the driver then retries it without charging the attempt
    charged: bool = True

    @property
    def ok(self) -> bool:
        """Whether the attempt finished without an error."""
        return self.status == "done"
