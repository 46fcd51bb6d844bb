"""What a study is: a pydantic spec, a pure ``run(context, spec) -> StudyResult`` and one shared writer.

A study kind is registered once (``@register_study``) beside its definition; the audit spec's schema,
its error tags and the runner's dispatch all come from that registry, and the CLI builds one-study
specs of the same classes, so each study has exactly one implementation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from nasaudit._atomic import atomic_table, atomic_write
from nasaudit.jobs.job import absent_means
from nasaudit.limits import MAX_SEED
from nasaudit.registry import Registry
from nasaudit.report.section import SectionRecord

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from rich.console import Console

    from nasaudit.evaluators import Evaluator
    from nasaudit.jobs.executors import Executor
    from nasaudit.jobs.store import ResultStore
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.truth.tabular import TabularBenchmark


#: a random seed as a spec field or list item: a whole number in [0, MAX_SEED]
SeedValue = Annotated[int, Field(ge=0, le=MAX_SEED)]


class StrictModel(BaseModel):
    """Frozen pydantic model that refuses unknown keys (a typo is an error, not a silent default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SpaceSpec(StrictModel):
    """A registered space, optionally restricted to the ops kept (op masking, single-path paper Sec. 4.1) and,
    for NB101, to cells of at most ``max_vertices`` vertices (search-phase paper Sec. 4.3, Table 6)."""

    name: str = "nb201"
    ops: list[str] | None = Field(None, min_length=1)
    max_vertices: int | None = Field(None, ge=2, le=7)


def build_space(spec: SpaceSpec) -> SearchSpace:
    """The space a spec names: registered, op-masked, reduced."""
    from nasaudit.errors import ConfigError
    from nasaudit.spaces import get_space
    from nasaudit.spaces.nb101 import NB101Space

    space = get_space(spec.name)
    if spec.ops:
        space = space.restrict(spec.ops)
    if spec.max_vertices is not None:
        if not isinstance(space, NB101Space):
            raise ConfigError(f"max_vertices reduces NB101 spaces; space {spec.name!r} is not one")
        space = NB101Space(ops=space.ops, max_vertices=spec.max_vertices, max_edges=space.max_edges,
                           sampling=space.sampling, name=space.name)
    return space


class StudySpec(StrictModel):
    """Fields every study has. ``reference`` is what a paper reported, shown beside our numbers; ``space``, when
    given, is the space this study runs in instead of the audit's (one audit can cover NB201 and DARTS, say): its
    evaluators are built again in that space.

    Subclasses list in ``evaluator_fields`` the fields that name evaluators of the audit (checked up front,
    and their resolved definitions go into the result's key) and in ``file_fields`` the fields that name
    files (checked up front; their content hashes go into the key).
    """

    evaluator_fields: ClassVar[tuple[str, ...]] = ()
    file_fields: ClassVar[tuple[str, ...]] = ()

    kind: str
    reference: str | None = None
    space: SpaceSpec | None = Field(None, json_schema_extra=absent_means(None))

    def evaluator_refs(self) -> list[str]:
        """The evaluator names this study reads (``None`` fields left out)."""
        return [value for name in self.evaluator_fields if (value := getattr(self, name)) is not None]

    def check(self, space: SearchSpace, base_dir: Path) -> list[str]:
        """Problems of this study in ``space`` found without compute (a method the space does not support, a
        missing data folder; paths relative to ``base_dir``), checked with the whole spec before anything runs."""
        return []

    def code_identity(self) -> dict[str, Any]:
        """The users' code this study runs beyond what its settings name (e.g. a predictor registered in the
        running process: its module, factory and file hash), for the result's key; empty for the package's own
        (its version is in every key) and for a plugin's entries (the runner hashes plugin files)."""
        return {}


@dataclass
class Table:
    """A tidy result table; ``show=False`` keeps a long detail table out of the page (linked as CSV)."""

    name: str
    caption: str
    frame: pd.DataFrame
    show: bool = True


@dataclass
class Plot:
    """A figure: ``draw(path)`` saves it as PNG (figure functions live in ``nasaudit.report``)."""

    name: str
    caption: str
    draw: Callable[[Path], object]


@dataclass
class StudyResult:
    """Everything a study found, stated with the data, settings and seeds behind it."""

    title: str
    summary: str
    settings: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def write_result(result: StudyResult, folder: Path, key: str) -> SectionRecord:
    """Write a result's tables (CSV) and figures (PNG) into ``folder``; return its section record."""
    folder.mkdir(parents=True, exist_ok=True)
    section = SectionRecord(key=key, title=result.title, summary=result.summary,
                            settings=dict(result.settings), notes=list(result.notes))
    for table in result.tables:
        atomic_table(table.frame, folder / table.name)
        (section.tables if table.show else section.downloads).append((table.caption, f"{folder.name}/{table.name}"))
    for plot in result.plots:
        plot.draw(folder / plot.name)
        section.figures.append((plot.caption, f"{folder.name}/{plot.name}"))
    atomic_write(folder / "section.json", json.dumps(asdict(section), indent=1, default=str))
    return section


@dataclass
class Scored:
    """A built evaluator: its scores, a description for the report, and for tables the benchmark and column."""

    evaluator: Evaluator
    description: str
    units: Literal["percent", "fraction"] = "percent"
    benchmark: TabularBenchmark | None = None
    column: str | None = None


class StudyContext(Protocol):
    """What a study may use: the audit's space, seed, evaluators, executor and store, and a scratch folder."""

    seed: int
    store: ResultStore
    console: Console
    #: show progress bars (with ETA) for long steps: on when ``console`` is a terminal, quiet otherwise
    progress: bool

    @property
    def space(self) -> SearchSpace:
        """The space the study runs in (the audit's, or the study's own ``space``)."""
        ...

    @property
    def memo(self) -> dict[tuple[Any, ...], Any]:
        """Computations shared by the studies of one space (e.g. operation importance)."""
        ...

    def scored(self, name: str) -> Scored:
        """The evaluator named ``name`` in the audit, built on first use."""
        ...

    def evaluator_spec(self, name: str) -> Any:
        """The validated spec of the evaluator ``name``."""
        ...

    def population(self, name: str) -> tuple[list[Any], np.ndarray]:
        """Every arch of the space (seeded samples of a huge one) and its scores under ``name``."""
        ...

    def executor(self) -> Executor:
        """The audit's executor for studies that fan out jobs."""
        ...

    def work_dir(self, *parts: str) -> Path:
        """A scratch folder under the run folder (checkpoints), created on demand."""
        ...

    def resolve(self, path: str) -> Path:
        """A path from the spec, relative to the spec file's folder."""
        ...


@dataclass(frozen=True)
class StudyEntry:
    """A study kind's registration: its spec class and its run function."""

    kind: str
    spec: type[StudySpec]
    run: Callable[[StudyContext, Any], StudyResult]
    description: str


def study_contract(kind: str, entry: object) -> str | None:
    """Why ``entry`` cannot be the study ``kind`` (a ``StudyEntry`` whose spec is a ``StudySpec`` with
    ``kind: Literal[kind]`` and whose run is callable), or None."""
    if not isinstance(entry, StudyEntry):
        return f"expected a StudyEntry (register_study), got {type(entry).__name__}"
    problem = kind_spec_problem(entry.spec, kind, StudySpec, "a subclass of nasaudit.studies.StudySpec")
    if problem is None and not callable(entry.run):
        return "its run is not callable"
    return problem


def kind_spec_problem(spec: object, kind: str, base: type[BaseModel], what: str) -> str | None:
    """Why ``spec`` cannot be the spec of the registered ``kind`` (a subclass of ``base``, described as ``what``,
    with ``kind: Literal[kind] = kind``), or None. The study and evaluator-kind registries share it."""
    if not (isinstance(spec, type) and issubclass(spec, base)):
        return f"its spec is not {what}"
    field = spec.model_fields.get("kind")
    if field is None or field.default != kind:
        return f"its spec {spec.__qualname__} needs kind: Literal[{kind!r}] = {kind!r}"
    return None


STUDIES: Registry[StudyEntry] = Registry("study kind", check=study_contract)


def register_study(kind: str, spec: type[StudySpec], description: str
                   ) -> Callable[[Callable[[Any, Any], StudyResult]], Callable[[Any, Any], StudyResult]]:
    """Decorator for a study's ``run`` function: registers ``kind`` with its spec class."""

    def decorate(run: Callable[[Any, Any], StudyResult]) -> Callable[[Any, Any], StudyResult]:
        STUDIES.add(kind, StudyEntry(kind, spec, run, description), description)
        return run

    return decorate
