"""Audit specs: one YAML file declares the space, evaluators, studies, seed, executor and store.

The schema is the union of the registered study specs (``nasaudit.studies``) and evaluator kinds
(``nasaudit.studies.evaluators``), built when a spec is validated (``spec_model``), after the spec's
``plugins:`` are loaded (``nasaudit.plugins``): a user's study kind or evaluator kind is part of it.
``load_spec(path)`` validates everything checkable without compute
before anything runs (types and ranges, registered names, files, table columns, dataset names, the ops of
the space, evaluator references) and reports *every* mistake at once, each with its line and column.
"""

from __future__ import annotations

import contextlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationError, create_model, field_validator

from nasaudit.errors import ConfigError, NasauditError
from nasaudit.plugins import MAX_PLUGINS, load_plugins
from nasaudit.spaces.base import SearchSpace
from nasaudit.studies import STUDIES, load_studies
from nasaudit.studies._base import SpaceSpec, StrictModel, StudySpec, build_space
from nasaudit.studies.evaluators import EVALUATOR_KINDS, SurrogateEvaluatorSpec, resolve_path
from nasaudit.yamlio import PathKey, load_yaml_with_locations, locate

load_studies()

#: evaluator names become folder names (supernet checkpoints): keep them to a safe alphabet
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")


class ExecutorSpec(StrictModel):
    """Where jobs run: in this process, on local worker processes, or on a Ray cluster."""

    kind: Literal["sequential", "processes", "ray"] = "sequential"
    workers: int = Field(2, gt=0, le=1024)
    address: str | None = None


class AuditSpec(StrictModel):
    """A whole audit: studies run in order against named evaluators."""

    name: str = Field("audit", min_length=1, max_length=128)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    output: str = "nasaudit-out"
    store: str | None = None
    space: SpaceSpec = Field(default_factory=SpaceSpec)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)
    #: users' plugins: module names, or .py files inside the spec's folder (``nasaudit.plugins``)
    plugins: list[str] = Field(default_factory=list, max_length=MAX_PLUGINS)
    #: typed by ``spec_model``: each value one of the registered evaluator kinds' specs
    evaluators: dict[str, Any] = Field(default_factory=dict)
    #: typed by ``spec_model``: each item one of the registered study kinds' specs
    analyses: list[StudySpec] = Field(min_length=1)
    base_dir: Path = Path(".")

    @field_validator("evaluators")
    @classmethod
    def _safe_names(cls, evaluators: dict[str, Any]) -> dict[str, Any]:
        for name in evaluators:
            if not NAME_PATTERN.match(name):
                raise ValueError(f"evaluator name {name!r} must be 1-64 letters, digits, '_', '.' or '-' "
                                 "(it names folders of the run)")
        return evaluators

    def resolve(self, path: str) -> Path:
        """A path from the spec, relative to the spec file's folder."""
        return resolve_path(self.base_dir, path)


def spec_model() -> type[AuditSpec]:
    """``AuditSpec`` whose ``evaluators`` and ``analyses`` are the unions of the kinds registered now (the
    package's and the loaded plugins'), told apart by their ``kind``."""
    studies = tuple((kind, STUDIES.get(kind).spec) for kind in STUDIES.names())
    kinds = tuple((kind, EVALUATOR_KINDS.get(kind).spec) for kind in EVALUATOR_KINDS.names())
    return _spec_model(studies, kinds)


@lru_cache(maxsize=16)
def _spec_model(studies: tuple[tuple[str, type[StudySpec]], ...],
                kinds: tuple[tuple[str, type[StrictModel]], ...]) -> type[AuditSpec]:
    study_union: Any = Annotated[Union[tuple(spec for _, spec in studies)], Field(discriminator="kind")]  # noqa: UP007
    evaluator_union: Any = evaluator_spec_union(tuple(spec for _, spec in kinds))
    model: type[AuditSpec] = create_model(
        "AuditSpec", __base__=AuditSpec, __module__=__name__,
        evaluators=(dict[str, evaluator_union], Field(default_factory=dict)),
        analyses=(list[study_union], Field(min_length=1)))
    return model


def evaluator_spec_union(specs: tuple[type[StrictModel], ...] | None = None) -> Any:
    """The type of one evaluator of a spec: the union of the registered evaluator kinds' specs (for a
    ``pydantic.TypeAdapter``)."""
    if specs is None:
        specs = tuple(EVALUATOR_KINDS.get(kind).spec for kind in EVALUATOR_KINDS.names())
    return Annotated[Union[specs], Field(discriminator="kind")]  # noqa: UP007


def validate_spec(data: dict[str, Any], base_dir: Path, *, confined: bool = True
                  ) -> tuple[AuditSpec | None, list[tuple[PathKey, str]]]:
    """Validate a spec's data; return the spec (None when invalid) and every problem found.

    The spec's ``plugins`` are loaded first (their files inside ``base_dir`` when ``confined``); a plugin that
    fails to load is one ``ConfigError`` naming it, raised at once."""
    problems: list[tuple[PathKey, str]] = []
    spec: AuditSpec | None
    load_plugins(data.get("plugins"), base_dir, confined=confined)
    try:
        spec = spec_model().model_validate({**data, "base_dir": base_dir})
    except ValidationError as err:
        spec = None
        problems += [(_clean_loc(error["loc"]), _message(error)) for error in err.errors()]
    problems += _cross_check(data, base_dir)
    return (spec if not problems else None), problems


def spec_from_data(data: dict[str, Any], base_dir: Path, source: str = "spec") -> AuditSpec:
    """Validate a spec built in code (the CLI's one-study specs); one ConfigError listing every problem."""
    spec, problems = validate_spec(data, base_dir)
    if problems:
        lines = [f"[{'.'.join(str(p) for p in loc) or '(spec)'}] {message}" for loc, message in problems]
        raise ConfigError(f"{source}: " + "; ".join(lines))
    assert spec is not None
    return spec


def load_spec(path: str | Path) -> AuditSpec:
    """Read and validate a spec file; raise one ``ConfigError`` listing every problem with its location."""
    path = Path(path)
    data, locations = load_yaml_with_locations(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a spec must be a YAML mapping at the top level")
    spec, problems = validate_spec(data, path.resolve().parent)
    if problems:
        lines = []
        for loc, message in sorted(set(problems), key=lambda p: locate(locations, p[0]) or (0, 0)):
            where = locate(locations, loc)
            place = f"line {where[0]}, column {where[1]}" if where else "top level"
            dotted = ".".join(str(part) for part in loc) or "(spec)"
            lines.append(f"  {path.name}:{place} [{dotted}]: {message}")
        raise ConfigError(f"{path}: {len(lines)} problem(s) in the spec, nothing was run:\n" + "\n".join(lines))
    assert spec is not None
    return spec


def _clean_loc(loc: tuple[Any, ...]) -> PathKey:
    """Drop pydantic's discriminator tags (e.g. ``'compare'``) and validator names from an error location."""
    tags = set(STUDIES.names()) | set(EVALUATOR_KINDS.names())
    out: list[str | int] = []
    for index, part in enumerate(loc):
        previous = loc[index - 1] if index else None
        is_tag = isinstance(part, str) and part in tags and (
            isinstance(previous, int) or (len(out) >= 2 and out[-2] == "evaluators"))
        if not is_tag and not (isinstance(part, str) and part.startswith("function-")):
            out.append(part)
    return tuple(out)


def _message(error: Any) -> str:
    if error["type"] == "union_tag_invalid":
        tag = error["ctx"].get("discriminator", "'kind'").strip("'")
        return f"unknown {tag} {error['input'].get(tag)!r}; expected one of {error['ctx']['expected_tags']}"
    if error["type"] == "union_tag_not_found":
        return f"missing {error['ctx'].get('discriminator', 'kind')}"
    if error["type"] == "extra_forbidden":
        return "unknown setting (not part of the spec)"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _space_problems(raw: Any, where: PathKey) -> tuple[SearchSpace | None, list[tuple[PathKey, str]]]:
    """The space ``raw`` (a space mapping at ``where``) names, or the problems with it."""
    from nasaudit.spaces import get_space

    if not isinstance(raw, dict):
        return None, []
    name = raw.get("name", "nb201")
    try:
        base = get_space(name) if isinstance(name, str) else None
    except NasauditError as err:
        return None, [((*where, "name"), str(err))]
    ops = raw.get("ops")
    if base is not None and isinstance(ops, list):
        bad = [op for op in ops if op not in base.ops]
        if bad:
            return None, [((*where, "ops"), f"unknown op(s) {bad} for space {name!r}; choose from {list(base.ops)}")]
    try:
        return build_space(SpaceSpec.model_validate(raw)), []
    except ValidationError:
        return None, []  # reported by the schema
    except NasauditError as err:
        return None, [(where, str(err))]


def _study_spaces(data: dict[str, Any], space: SearchSpace | None
                  ) -> tuple[list[SearchSpace | None], list[tuple[PathKey, str]]]:
    """The space of each study (its own ``space``, else the audit's) and the problems with the studies' own."""
    analyses = data.get("analyses")
    spaces: list[SearchSpace | None] = []
    problems: list[tuple[PathKey, str]] = []
    built: dict[str, SearchSpace | None] = {}  # one object per distinct space: evaluators are checked once in each
    for index, raw in enumerate(analyses if isinstance(analyses, list) else []):
        own = raw.get("space") if isinstance(raw, dict) else None
        if own is None:
            spaces.append(space)
            continue
        text = repr(own)
        if text not in built:
            built[text], found = _space_problems(own, ("analyses", index, "space"))
            problems += found
        spaces.append(built[text])
    return spaces, problems


def _cross_check(data: dict[str, Any], base_dir: Path) -> list[tuple[PathKey, str]]:
    """Checks beyond types: the space, evaluator files and columns, datasets, references, study files. An
    evaluator is checked in the space of every study that reads it (the audit's when none does)."""
    space, problems = _space_problems(data.get("space") or {}, ("space",))
    study_spaces, found = _study_spaces(data, space)
    problems += found
    evaluators = data.get("evaluators") or {}
    names = set(evaluators) if isinstance(evaluators, dict) else set()
    readers = _evaluator_spaces(data, study_spaces)
    for key, raw in (evaluators.items() if isinstance(evaluators, dict) else []):
        if not isinstance(raw, dict) or raw.get("kind") not in EVALUATOR_KINDS:
            continue
        kind = EVALUATOR_KINDS.get(raw["kind"])
        try:
            spec = kind.spec.model_validate(raw)
        except ValidationError:
            continue  # reported by the schema
        if isinstance(spec, SurrogateEvaluatorSpec) and spec.fit_on not in names:
            problems.append((("evaluators", key, "fit_on"), f"no evaluator named {spec.fit_on!r}"))
        for checked_space in readers.get(key) or [space]:
            for loc, message in kind.check(spec, base_dir, checked_space):
                if (("evaluators", key, *loc), message) not in problems:
                    problems.append((("evaluators", key, *loc), message))
    analyses = data.get("analyses") or []
    for index, raw in enumerate(analyses if isinstance(analyses, list) else []):
        if not isinstance(raw, dict) or raw.get("kind") not in STUDIES:
            continue
        study: type[StudySpec] = STUDIES.get(raw["kind"]).spec
        study_space = study_spaces[index]
        if study_space is not None:
            with contextlib.suppress(ValidationError):  # a schema error is reported by the schema
                checked = study.model_validate(raw).check(study_space, base_dir)
                problems += [(("analyses", index), message) for message in checked]
        for field in study.evaluator_fields:
            ref = raw.get(field)
            if ref is not None and ref not in names:
                problems.append((("analyses", index, field),
                                 f"no evaluator named {ref!r}; defined: {sorted(names) or 'none'}"))
        for field in study.file_fields:
            value = raw.get(field)
            for position, item in enumerate([value] if isinstance(value, str) else value or []):
                if isinstance(item, str) and item != "embedded" and not resolve_path(base_dir, item).is_file():
                    where = ("analyses", index, field) if isinstance(value, str) else ("analyses", index, field,
                                                                                       position)
                    problems.append((where, f"file not found: {resolve_path(base_dir, item)}"))
    return problems


def _evaluator_spaces(data: dict[str, Any], study_spaces: list[SearchSpace | None]
                      ) -> dict[str, list[SearchSpace | None]]:
    """For each evaluator name, the distinct spaces of the studies that read it (a surrogate's ``fit_on`` is read
    in its reader's spaces too)."""
    analyses = data.get("analyses")
    evaluators = data.get("evaluators")
    readers: dict[str, list[SearchSpace | None]] = {}

    def add(name: Any, space: SearchSpace | None) -> None:
        if isinstance(name, str) and space not in readers.setdefault(name, []):
            readers[name].append(space)
            raw = evaluators.get(name) if isinstance(evaluators, dict) else None
            if isinstance(raw, dict) and raw.get("kind") == "surrogate":
                add(raw.get("fit_on"), space)

    for raw, space in zip(analyses if isinstance(analyses, list) else [], study_spaces, strict=False):
        if isinstance(raw, dict) and raw.get("kind") in STUDIES:
            for field in STUDIES.get(raw["kind"]).spec.evaluator_fields:
                add(raw.get(field), space)
    return readers
