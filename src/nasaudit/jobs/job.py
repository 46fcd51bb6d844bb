"""Job descriptions for the executors: picklable frozen dataclasses with a deterministic id.

A job says *what* to compute, never how or where: the same job list runs sequentially, on local
worker processes or on a Ray cluster (search-phase paper Sec. 3.2: every architecture of a reduced
space trained with several seeds). The id is a hash of the job's identity, so a restarted build
recognises the runs it already finished.

Identity is the canonical JSON of the job's values (``canonical_json``): option values may be nested JSON
(lists, mappings of lists, ...), never lists packed into comma- or JSON-strings. Canonical means: mapping keys
sorted, no whitespace, tuples written as lists, a float that is a whole number written as that integer (``1.0``
and ``1`` are one value, as Python's ``1.0 == 1`` says; ``-0.0`` is ``0``), other floats in Python's shortest
round-trip form, non-finite floats as ``NaN``/``Infinity``/``-Infinity``, text ASCII-escaped.

Adding a setting without re-running stored jobs: a field declared with ``absent_means(value)`` in its metadata
(a dataclass ``field(metadata=...)`` or a pydantic ``Field(json_schema_extra=...)``) is left out of the identity
while it holds ``value``, the behaviour every job stored before the field existed had; ``from_identity`` reads a
missing field back as that value. The rule is deliberately *not* "left out when equal to the default": the
default may change later, and a job stored without the field would then silently mean the new default. With
``absent_means`` the omitted value is fixed history, so changing the default of such a field later changes the
ids of the jobs that use the new default, and only theirs. Fields without the marker are always part of the
identity (resolved values, so a changed default reruns what depends on it).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from typing_extensions import TypeAliasType

from nasaudit.errors import ConfigError
from nasaudit.yamlio import MAX_JSON_DEPTH

#: a JSON value: what a job option may hold (nested lists and string-keyed mappings included); a recursive alias
#: pydantic validates too (spec fields of options)
JSONValue = TypeAliasType("JSONValue", "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None")
#: the value of one job option
OptionValue = JSONValue

#: the metadata key of ``absent_means``
ABSENT_MEANS = "nasaudit_absent_means"

_T = TypeVar("_T")


def canonical(value: Any, where: str = "job option", _depth: int = 0) -> Any:
    """``value`` as plain canonical JSON data (see the module docstring); anything else is a one-line ``ConfigError``.

    Accepts ``Options``, mappings with string keys, lists and tuples, str, int, float, bool and None."""
    if _depth > MAX_JSON_DEPTH:
        raise ConfigError(f"{where} nests deeper than {MAX_JSON_DEPTH} levels")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else float(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(f"{where} has a key {key!r} that is not a string")
            out[key] = canonical(item, f"{where}[{key!r}]", _depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [canonical(item, f"{where}[{i}]", _depth + 1) for i, item in enumerate(value)]
    raise ConfigError(f"{where} = {value!r} is not a JSON value (str, int, float, bool, None, list or mapping)")


def canonical_json(value: Any, where: str = "job option") -> str:
    """The canonical JSON text of ``value``: equal values, equal text, on every machine and Python."""
    return json.dumps(canonical(value, where), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _plain(value: Any) -> Any:
    """A private deep copy of a JSON value as given (tuples as lists; int and float kept as they are)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


class Options(Mapping[str, Any]):
    """An immutable, hashable mapping of option names to JSON values (nested lists and mappings allowed).

    Equality and hash follow the canonical JSON (``canonical_json``), so ``{"lr": 1.0}`` equals ``{"lr": 1}``.
    Values read back are copies of the values given (a float stays a float), so a frozen job's options cannot
    be changed through them. Built by ``freeze_options``."""

    __slots__ = ("_canonical", "_data")
    _canonical: str
    _data: dict[str, Any]

    def __init__(self, values: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None) -> None:
        items = dict(values or {})
        text = canonical_json(items, "job options")  # validates keys and values
        object.__setattr__(self, "_data", {key: _plain(items[key]) for key in sorted(items)})
        object.__setattr__(self, "_canonical", text)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Options are immutable")

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        return copy.deepcopy(value) if isinstance(value, (list, dict)) else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Options):
            return self._canonical == other._canonical
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._canonical)

    def __repr__(self) -> str:
        return f"Options({self._data!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Options, (self._data,))

    def __deepcopy__(self, memo: dict[int, Any]) -> Options:
        return self

    @property
    def canonical(self) -> str:
        """The canonical JSON text of these options (their identity)."""
        return self._canonical


#: no options (a shared immutable default)
NO_OPTIONS = Options()


def freeze_options(options: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> Options:
    """Keyword options (a mapping or ``(key, value)`` pairs of JSON values) as hashable, order-free ``Options``."""
    if isinstance(options, Options):
        return options
    try:
        return Options(options)
    except ConfigError:
        raise
    except (TypeError, ValueError):
        raise ConfigError(f"job options must be a mapping of names to JSON values, got {options!r}"[:300]) from None


def absent_means(value: Any) -> dict[str, Any]:
    """Field metadata of a setting added after jobs were stored: ``value`` is what its absence meant (the behaviour
    of the jobs stored before it existed). The identity leaves the field out while it holds ``value``.

    Use as ``field(default=..., metadata=absent_means(...))`` on a dataclass, or
    ``Field(default=..., json_schema_extra=absent_means(...))`` on a pydantic model. Keep ``value`` when the
    default changes later: it is history, not the default."""
    canonical(value, "absent_means value")
    return {ABSENT_MEANS: value}


def _absent_value(metadata: Any) -> tuple[bool, Any]:
    if isinstance(metadata, Mapping) and ABSENT_MEANS in metadata:
        return True, metadata[ABSENT_MEANS]
    return False, None


def _identity_fields(cls: type) -> Iterator[tuple[str, bool, Any]]:
    """``(name, has_absent_value, absent_value)`` of each identity field of a dataclass or pydantic model class."""
    if dataclasses.is_dataclass(cls):
        for item in dataclasses.fields(cls):
            if item.compare:
                yield (item.name, *_absent_value(item.metadata))
        return
    model_fields = getattr(cls, "model_fields", None)
    if isinstance(model_fields, Mapping):
        for name, info in model_fields.items():
            yield (name, *_absent_value(getattr(info, "json_schema_extra", None)))
        return
    raise TypeError(f"{cls.__name__} is neither a dataclass nor a pydantic model")


def identity(obj: Any, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The canonical JSON data of a dataclass's or pydantic model's identity: every compared field but those in
    ``exclude`` and those holding the value their absence meant (``absent_means``); nested dataclasses and
    models follow the same rule. A pydantic model's values are read as its JSON dump (``mode="json"``)."""
    skip = set(exclude)
    if _is_model(obj):
        return _prune_model(obj, obj.model_dump(mode="json", exclude=skip))
    out: dict[str, Any] = {}
    for name, has_absent, absent in _identity_fields(type(obj)):
        if name in skip:
            continue
        value = _identity_value(getattr(obj, name), f"{type(obj).__name__}.{name}")
        if has_absent and value == canonical(absent):
            continue
        out[name] = value
    return out


def _is_model(value: Any) -> bool:
    return not isinstance(value, type) and callable(getattr(value, "model_dump", None)) and isinstance(
        getattr(type(value), "model_fields", None), Mapping)


def _identity_value(value: Any, where: str) -> Any:
    if (dataclasses.is_dataclass(value) and not isinstance(value, type)) or _is_model(value):
        return identity(value)
    if isinstance(value, Mapping) and not isinstance(value, Options):
        return {key: _identity_value(item, f"{where}[{key!r}]") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_identity_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return canonical(value, where)


def _prune_model(model: Any, dumped: Any) -> Any:
    """``dumped`` (the JSON dump of ``model``, or of a list or mapping of models) without the ``absent_means`` fields
    that hold their absent value, at every level; canonical."""
    if _is_model(model) and isinstance(dumped, dict):
        out = {}
        for name, has_absent, absent in _identity_fields(type(model)):
            if name not in dumped:
                continue
            value = _prune_model(getattr(model, name), dumped[name])
            if not (has_absent and value == canonical(absent)):
                out[name] = value
        return out
    if isinstance(model, Mapping) and isinstance(dumped, dict):
        return {key: _prune_model(model.get(key), item) for key, item in dumped.items()}
    if isinstance(model, (list, tuple)) and isinstance(dumped, list) and len(model) == len(dumped):
        return [_prune_model(item, out) for item, out in zip(model, dumped, strict=True)]
    return canonical(dumped, f"{type(model).__name__} value")


def from_identity(cls: type[_T], values: Mapping[str, Any], what: str | None = None) -> _T:
    """A dataclass ``cls`` from the values of its identity (``identity``): a missing ``absent_means`` field takes the
    value its absence meant, any other missing field its default; an unknown name is a ``ConfigError`` naming
    ``what`` (default: ``<class> option``)."""
    known = {name: (has_absent, absent) for name, has_absent, absent in _identity_fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(f"unknown {what or cls.__name__ + ' option'}(s) {unknown}; valid: {sorted(known)}")
    data = dict(values)
    for name, (has_absent, absent) in known.items():
        if name not in data and has_absent:
            data[name] = copy.deepcopy(absent)
    return cls(**data)


def digest(kind: str, values: Mapping[str, Any]) -> str:
    """The id of a job of table ``kind``: a hash of the canonical JSON of its identity ``values``."""
    text = canonical_json({"kind": kind, **values}, f"{kind} job identity")
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
    #: the run's settings, nested JSON values (see ``Options``)
    params: Options = NO_OPTIONS

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", freeze_options(self.params))

    @property
    def job_id(self) -> str:
        return digest(self.table, identity(self))

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
