"""Experiment specs: one YAML file declares the space, evaluators, analyses, seeds, executor and store.

``load_spec(path)`` validates everything before any compute is spent and reports *every* mistake at
once, each with its line and column in the file (pydantic for types and ranges, then cross-checks:
registered names, files that must exist, evaluators the analyses refer to).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nasaudit.errors import ConfigError
from nasaudit.experiments.yaml_locations import PathKey, load_yaml_with_locations, locate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpaceSpec(_Strict):
    """A registered space, optionally restricted to an op subset (op masking)."""

    name: str = "nb201"
    ops: list[str] | None = None


class TableEvaluatorSpec(_Strict):
    """Ground truth from a benchmark table (CSV/parquet); ``path: embedded`` is the shipped mini-benchmark."""

    kind: Literal["table"]
    path: str
    metric: str
    dataset: str | None = None
    arch_column: str = "ArchitectureString"
    units: Literal["percent", "fraction"] = "percent"


class SurrogateEvaluatorSpec(_Strict):
    """A regression model fit on ``samples`` architectures scored by another evaluator (redundancy paper App. F)."""

    kind: Literal["surrogate"]
    fit_on: str
    model: Literal["gbt", "ensemble"] = "gbt"
    samples: int = Field(200, ge=10)


class SupernetEvaluatorSpec(_Strict):
    """A single-path (SPOS) supernet trained on a dataset, scoring archs with shared weights."""

    kind: Literal["supernet"]
    dataset: str = "embedded"
    data_root: str | None = None
    size: Literal["S", "M", "tiny"] = "tiny"
    epochs: int = Field(3, ge=1)
    sampling: Literal["fair", "uniform"] = "fair"


EvaluatorSpec = Annotated[
    TableEvaluatorSpec | SurrogateEvaluatorSpec | SupernetEvaluatorSpec, Field(discriminator="kind")
]


class _Analysis(_Strict):
    """Fields every analysis has: ``reference`` is what a paper reported, shown beside the results."""

    reference: str | None = None


class CompareSpec(_Analysis):
    """Fair comparison of strategies with random search (search-phase paper Sec. 3.1)."""

    kind: Literal["compare"]
    evaluator: str
    truth: str | None = None
    strategies: list[str] = Field(default_factory=lambda: ["random", "evolution", "local", "bananas"], min_length=1)
    budget: int = Field(100, gt=0)
    seeds: int = Field(20, gt=0)


class ImportanceSpec(_Analysis):
    """Operation importance of the top fraction of the space (redundancy paper Sec. 3)."""

    kind: Literal["importance"]
    evaluator: str
    top: float = Field(0.05, gt=0, le=1)
    threshold: float = Field(0.001, ge=0)


class SubgraphsSpec(_Analysis):
    """Frequent important subgraphs (redundancy paper Sec. 3, App. I)."""

    kind: Literal["subgraphs"]
    evaluator: str
    top: float = Field(0.05, gt=0, le=1)
    min_support: float = Field(0.05, gt=0, le=1)


class PrimSkipSpec(_Analysis):
    """The four PrimSkip groups compared (redundancy paper Sec. 4, App. D)."""

    kind: Literal["primskip"]
    evaluator: str
    samples: int = Field(50, gt=0)


class OpUsageSpec(_Analysis):
    """Op usage among the ground-truth top-N (single-path paper Fig. 3)."""

    kind: Literal["op_usage"]
    evaluator: str


class CellShapeSpec(_Analysis):
    """Width and depth of cells (architectures paper Sec. 3.2)."""

    kind: Literal["cell_shape"]
    archs: list[str] = Field(default_factory=list)


class SupernetRankingSpec(_Analysis):
    """How well a supernet ranks against ground truth (single-path paper Sec. 3-4)."""

    kind: Literal["supernet_ranking"]
    supernet: str
    truth: str
    seeds: int = Field(2, gt=0)


class SupernetGridSpec(_Analysis):
    """Op masks x supernet training variants x seeds through the executors (single-path paper Sec. 4).

    ``grid`` is a grid spec file (see ``nasaudit supernet grid``), relative to this spec, or ``embedded``
    for the shipped grid on the embedded digits."""

    kind: Literal["supernet_grid"]
    grid: str = "embedded"


AnalysisSpec = Annotated[
    CompareSpec | ImportanceSpec | SubgraphsSpec | PrimSkipSpec | OpUsageSpec | CellShapeSpec | SupernetRankingSpec
    | SupernetGridSpec,
    Field(discriminator="kind"),
]


class ExecutorSpec(_Strict):
    """Where jobs run: in this process, on local worker processes, or on a Ray cluster."""

    kind: Literal["sequential", "processes", "ray"] = "sequential"
    workers: int = Field(2, gt=0)
    address: str | None = None


class ExperimentSpec(_Strict):
    """A whole audit."""

    name: str = "audit"
    seed: int = Field(0, ge=0)
    output: str = "nasaudit-out"
    store: str | None = None
    space: SpaceSpec = SpaceSpec()
    executor: ExecutorSpec = ExecutorSpec()
    evaluators: dict[str, EvaluatorSpec] = Field(default_factory=dict)
    analyses: list[AnalysisSpec] = Field(min_length=1)
    base_dir: Path = Path(".")

    def resolve(self, path: str) -> Path:
        """A path from the spec, relative to the spec file's folder."""
        return _resolve(self.base_dir, path)


def _resolve(base_dir: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a spec; raise one ``ConfigError`` listing every problem with its location."""
    path = Path(path)
    data, locations = load_yaml_with_locations(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a spec must be a YAML mapping at the top level")
    problems: list[tuple[PathKey, str]] = []
    try:
        spec = ExperimentSpec.model_validate({**data, "base_dir": path.resolve().parent})
    except ValidationError as err:
        spec = None
        for error in err.errors():
            loc = _clean_loc(error["loc"])
            problems.append((loc, _message(error)))
    problems.extend(_cross_check(data, path.resolve().parent))
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
    """Drop pydantic's discriminator tags (e.g. ``'compare'``) from an error location."""
    known_tags = {"table", "surrogate", "supernet", "compare", "importance", "subgraphs", "primskip", "op_usage",
                  "cell_shape", "supernet_ranking", "supernet_grid"}
    out: list[str | int] = []
    for index, part in enumerate(loc):
        previous = loc[index - 1] if index else None
        is_tag = isinstance(part, str) and part in known_tags and (
            isinstance(previous, int) or (len(out) >= 2 and out[-2] == "evaluators"))
        if not is_tag:
            out.append(part)
    return tuple(out)


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "union_tag_invalid":
        return f"unknown kind {error['input'].get('kind')!r}; expected one of {error['ctx']['expected_tags']}"
    if error["type"] == "union_tag_not_found":
        return "missing 'kind'"
    if error["type"] == "extra_forbidden":
        return "unknown setting (not part of the spec)"
    return error["msg"]


def _cross_check(data: dict[str, Any], base_dir: Path) -> list[tuple[PathKey, str]]:
    """Checks beyond types: registered names, existing files and consistent references."""
    from nasaudit.search.registry import list_strategies
    from nasaudit.spaces import get_space, list_spaces

    problems: list[tuple[PathKey, str]] = []
    space = data.get("space") or {}
    if isinstance(space, dict):
        name = space.get("name", "nb201")
        if isinstance(name, str) and name not in list_spaces():
            problems.append((("space", "name"), f"unknown search space {name!r}; known: {', '.join(list_spaces())}"))
        elif isinstance(name, str) and isinstance(space.get("ops"), list):
            allowed = get_space(name).ops
            bad = [op for op in space["ops"] if op not in allowed]
            if bad:
                problems.append((("space", "ops"),
                                 f"unknown op(s) {bad} for space {name!r}; choose from {list(allowed)}"))
    evaluators = data.get("evaluators") or {}
    names = set(evaluators) if isinstance(evaluators, dict) else set()
    if isinstance(evaluators, dict):
        for key, spec in evaluators.items():
            if not isinstance(spec, dict):
                continue
            if spec.get("kind") == "table" and isinstance(spec.get("path"), str) and spec["path"] != "embedded":
                file = _resolve(base_dir, spec["path"])
                if not file.is_file():
                    problems.append((("evaluators", key, "path"), f"file not found: {file}"))
            if spec.get("kind") == "surrogate" and spec.get("fit_on") not in names:
                problems.append((("evaluators", key, "fit_on"), f"no evaluator named {spec.get('fit_on')!r}"))
    analyses = data.get("analyses") or []
    strategies = set(list_strategies())
    for index, analysis in enumerate(analyses if isinstance(analyses, list) else []):
        if not isinstance(analysis, dict):
            continue
        for field in ("evaluator", "truth", "supernet"):
            ref = analysis.get(field)
            if ref is not None and ref not in names:
                problems.append((("analyses", index, field),
                                 f"no evaluator named {ref!r}; defined: {sorted(names) or 'none'}"))
        grid = analysis.get("grid")
        if analysis.get("kind") == "supernet_grid" and isinstance(grid, str) and grid != "embedded":
            file = _resolve(base_dir, grid)
            if not file.is_file():
                problems.append((("analyses", index, "grid"), f"file not found: {file}"))
        for position, strategy in enumerate(analysis.get("strategies") or []):
            if strategy not in strategies:
                problems.append((("analyses", index, "strategies", position),
                                 f"unknown strategy {strategy!r}; known: {', '.join(sorted(strategies))}"))
    return problems
