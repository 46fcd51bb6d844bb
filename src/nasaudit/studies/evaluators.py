"""Evaluator kinds of an audit: a benchmark table, a surrogate fit on another evaluator, a SPOS supernet.

Each kind is a pydantic spec registered with three functions: ``check`` (everything checkable without
compute: files, table columns, dataset names), ``fingerprint`` (what a result depends on: the resolved
settings and the content hash of every input file) and ``build`` (the ``Scored`` evaluator). The audit's
result keys hold the fingerprints, so changing a metric, a path or a file's content reruns what depends on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from nasaudit.errors import ConfigError, DataError, NasauditError
from nasaudit.jobs.job import absent_means, digest, identity
from nasaudit.jobs.provenance import file_sha256
from nasaudit.limits import MAX_EPOCHS, MAX_SAMPLES
from nasaudit.registry import Registry
from nasaudit.studies._base import Scored, SeedValue, StrictModel, StudyContext, kind_spec_problem

if TYPE_CHECKING:
    from nasaudit.seeding import SeedLike
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.truth.tabular import TabularBenchmark
    from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator
    from nasaudit.weight_sharing.supernet.training import SupernetConfig

#: the "tiny" supernet size: CPU-friendly (8 channels, one cell per stage)
TINY = {"size": "S", "channels": 8, "depth": 1}

Problem = tuple[tuple[str | int, ...], str]


class TableEvaluatorSpec(StrictModel):
    """Ground truth from a benchmark table (CSV/parquet), or a shipped one by name: ``nb201`` (the published
    NAS-Bench-201 table), ``fashion`` (NB201 cells trained on Fashion-MNIST), ``embedded`` (digits), ``rnn_jargon``
    (the 32 ``rnn_reduced`` cells trained on the Jargon File; metric ``test_score`` or ``val_score``)."""

    kind: Literal["table"] = "table"
    path: str
    metric: str
    dataset: str | None = None
    arch_column: str = "ArchitectureString"
    units: Literal["percent", "fraction"] = "percent"


class SurrogateEvaluatorSpec(StrictModel):
    """A performance predictor ``model`` of ``nasaudit.predictors.PREDICTORS`` (``bananas``, alias ``ensemble``;
    ``gbt``; ``gp``; ``rf``; plugins') fit once on ``samples`` architectures scored by another evaluator
    (redundancy paper App. F), the sample and the fit drawn with ``seed`` (absent: the audit's seed)."""

    kind: Literal["surrogate"] = "surrogate"
    fit_on: str
    model: str = "gbt"
    samples: int = Field(200, ge=10, le=MAX_SAMPLES)
    seed: SeedValue | None = Field(None, json_schema_extra=absent_means(None))


class SupernetEvaluatorSpec(StrictModel):
    """A single-path (SPOS) supernet trained on a dataset, scoring archs with shared weights (single-path Sec. 3)."""

    kind: Literal["supernet"] = "supernet"
    dataset: str = "embedded"
    data_root: str | None = None
    size: Literal["S", "M", "tiny"] = "tiny"
    epochs: int = Field(3, ge=1, le=MAX_EPOCHS)
    sampling: Literal["fair", "uniform"] = "fair"


class ProxyEvaluatorSpec(StrictModel):
    """A zero-cost proxy of each architecture's untrained network (NB201 networks ``channels`` wide with
    ``cells_per_stage``) from one ``batch_size`` batch of ``dataset``, all drawn with ``seed`` (docs/proxies.md);
    scores kept in the audit's store. ``fuse`` > 1 fuses that many NB201 networks per pass."""

    kind: Literal["proxy"] = "proxy"
    proxy: str = "synflow"
    dataset: str = "fashion16"
    data_root: str | None = None
    batch_size: int = Field(64, ge=2, le=4096)
    seed: SeedValue = 0
    channels: int = Field(4, ge=1, le=256)
    cells_per_stage: int = Field(1, ge=1, le=10)
    fuse: int = Field(1, ge=1, le=1024)
    device: str = "cpu"


class NB101EvaluatorSpec(StrictModel):
    """A NAS-Bench-101 table converted by ``nasaudit bench convert-nb101`` (one row per cell, budget and repeat),
    scored by the mean over repeats of ``metric`` at ``epochs`` (search-phase paper Sec. 3.2, App. A.2)."""

    kind: Literal["nb101"] = "nb101"
    path: str
    metric: Literal["final_test_accuracy", "final_validation_accuracy", "final_train_accuracy",
                    "halfway_test_accuracy", "halfway_validation_accuracy"] = "final_test_accuracy"
    epochs: Literal[4, 12, 36, 108] = 108
    units: Literal["percent", "fraction"] = "fraction"


class NatsEvaluatorSpec(StrictModel):
    """An official NATS-Bench topology file (optional extra ``nb201``): ``metric: search_signal`` is the
    ``signal`` accuracy (validation) a search may see, ``reported`` the held-out ``report`` accuracy, and
    ``search_signal_last3`` the mean of the signal over the last 3 epochs (single-path paper Sec. 3)."""

    kind: Literal["nats"] = "nats"
    path: str
    dataset: Literal["cifar10-valid", "cifar10", "cifar100", "ImageNet16-120"] = "cifar10-valid"
    hp: Literal["12", "200"] = "200"
    signal: Literal["train", "valid", "test", "valtest"] = "valid"
    report: Literal["train", "valid", "test", "valtest"] = "test"
    metric: Literal["search_signal", "reported", "search_signal_last3"] = "search_signal"
    units: Literal["percent", "fraction"] = "percent"


class NB301ResultsEvaluatorSpec(StrictModel):
    """The NAS-Bench-301 training set (the ``nb_301_v13_lc_iclr_final`` folder of ~50k JSON results), one row per
    DARTS genotype (redundancy paper Sec. 3, top-5% analyses)."""

    kind: Literal["nb301_results"] = "nb301_results"
    path: str
    metric: Literal["val_accuracy", "test_accuracy"] = "val_accuracy"
    units: Literal["percent", "fraction"] = "percent"


class NB301SurrogateEvaluatorSpec(StrictModel):
    """A surrogate fit the way NB301 fit its own (``model: gbt`` on NB301's config encoding, ``gin`` on the cell
    graphs; ``gbt_ops`` on per-cell op counts, for tables of a few dozen cells), scoring any DARTS genotype.
    ``path`` is an NB301 results folder (``metric`` val_accuracy or test_accuracy) or a DARTS-space benchmark table:
    a CSV/parquet with ``arch_column`` of DARTS genotype strings, or a shipped table by name such as
    ``darts_fashion`` (``metric`` one of its numeric columns). Held out: ``heldout: split`` is NB301's 0.8/0.1/0.1
    split seeded by ``seed``; ``kfold`` predicts every genotype from the other ``folds`` and fits the evaluator's
    model on all rows (for small tables). ``official`` is the released NB301 ensemble in ``model_dir`` (extra
    ``nb301``; folders only). The fit is kept in the run folder, keyed by the data's content and these settings."""

    kind: Literal["nb301_surrogate"] = "nb301_surrogate"
    path: str
    metric: str = "val_accuracy"
    model: Literal["gbt", "gbt_ops", "gin", "official"] = "gbt"
    model_dir: str | None = None
    seed: SeedValue = 0
    n_estimators: int = Field(500, ge=1, le=100_000)
    epochs: int = Field(60, ge=1, le=MAX_EPOCHS)
    hidden: int = Field(32, ge=2, le=1024)
    layers: int = Field(3, ge=1, le=32)
    units: Literal["percent", "fraction"] = "percent"
    heldout: Literal["split", "kfold"] = Field("split", json_schema_extra=absent_means("split"))
    folds: int = Field(10, ge=2, le=20, json_schema_extra=absent_means(10))
    arch_column: str = Field("ArchitectureString", json_schema_extra=absent_means("ArchitectureString"))


class TrainEvaluatorSpec(StrictModel):
    """Ground truth on demand: each architecture trained from scratch with ``seeds`` under ``protocol`` on
    ``dataset`` (``options`` override protocol fields or the macro network), runs kept in the audit's store.
    Trained exactly like a ``bench build`` with the same settings, so its scores are that benchmark's."""

    kind: Literal["train"] = "train"
    protocol: str = "cpu_small"
    dataset: str = "embedded"
    data_root: str | None = None
    seeds: list[SeedValue] = Field(default_factory=lambda: [0, 1, 2], min_length=1, max_length=100)
    #: a list value is for ``text_prefix`` (the first tokens of each text split, RNN spaces)
    options: dict[str, str | int | float | bool | list[int] | None] = Field(default_factory=dict)
    #: image spaces: accuracy (%); RNN spaces: ``test_score``/``val_score``, -log perplexity (higher is better)
    metric: Literal["test_acc", "val_acc", "test_score", "val_score"] = "test_acc"


EvaluatorSpec = Annotated[TableEvaluatorSpec | SurrogateEvaluatorSpec | SupernetEvaluatorSpec | NB101EvaluatorSpec
                          | NatsEvaluatorSpec | NB301ResultsEvaluatorSpec | NB301SurrogateEvaluatorSpec
                          | TrainEvaluatorSpec,
                          Field(discriminator="kind")]


@dataclass(frozen=True)
class EvaluatorKind:
    """A registered evaluator kind."""

    spec: type[StrictModel]
    check: Callable[[Any, Path, SearchSpace | None], list[Problem]]
    fingerprint: Callable[[Any, Path], dict[str, Any]]
    build: Callable[[StudyContext, str, Any], Scored]


def evaluator_contract(kind: str, entry: object) -> str | None:
    """Why ``entry`` cannot be the evaluator kind ``kind`` (an ``EvaluatorKind`` whose spec is a pydantic model
    with ``kind: Literal[kind]`` and whose check, fingerprint and build are callable), or None."""
    from pydantic import BaseModel

    if not isinstance(entry, EvaluatorKind):
        return f"expected an EvaluatorKind, got {type(entry).__name__}"
    problem = kind_spec_problem(entry.spec, kind, BaseModel, "a pydantic model")
    if problem is not None:
        return problem
    missing = [part for part in ("check", "fingerprint", "build") if not callable(getattr(entry, part))]
    return f"its {', '.join(missing)} not callable" if missing else None


EVALUATOR_KINDS: Registry[EvaluatorKind] = Registry("evaluator kind", check=evaluator_contract)


def resolve_path(base_dir: Path, path: str) -> Path:
    """A path from a spec, relative to the spec file's folder."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


def table_file(spec: TableEvaluatorSpec, base_dir: Path) -> Path:
    """The table a table evaluator reads: a packaged one by name (the one holding ``spec.metric``: ``nb201``'s
    ``valid_acc`` is its validation table), or a file relative to the spec."""
    from nasaudit.resources import PACKAGED_TABLES, table_path

    return table_path(spec.path, spec.metric) if spec.path in PACKAGED_TABLES else resolve_path(base_dir, spec.path)


# ----------------------------------------------------------------------------------------- table
@lru_cache(maxsize=8)
def _load_table(path: str, sha256: str, family_space: str, arch_column: str) -> TabularBenchmark:
    """A table read and validated once per content (the up-front check and the build share it)."""
    from nasaudit.truth.tabular import TabularBenchmark

    return TabularBenchmark.from_file(path, space=family_space, arch_column=arch_column)


def load_table(file: Path, space_name: str, arch_column: str) -> TabularBenchmark:
    """The whole table at ``file`` over the registered space ``space_name``, every row checked."""
    return _load_table(str(file), file_sha256(file), space_name, arch_column)


def _check_table(spec: TableEvaluatorSpec, base_dir: Path, space: SearchSpace | None) -> list[Problem]:
    from nasaudit.truth.tabular import resolve_column, table_header

    file = table_file(spec, base_dir)
    if not file.is_file():
        return [(("path",), f"file not found: {file}")]
    try:
        header = table_header(file)
        if spec.arch_column not in header:
            return [(("arch_column",), f"no column {spec.arch_column!r} in {file.name}; columns are {header}")]
        resolve_column([c for c in header if c != spec.arch_column], spec.metric, spec.dataset)
    except NasauditError as err:
        return [(("metric",), str(err))]
    if space is not None:
        try:  # every row: a corrupt or truncated table fails here, before anything runs
            load_table(file, space.name, spec.arch_column)
        except NasauditError as err:
            return [(("path",), str(err))]
    return []


def _table_fingerprint(spec: TableEvaluatorSpec, base_dir: Path) -> dict[str, Any]:
    file = table_file(spec, base_dir)
    return {**identity(spec), "path": str(file), "sha256": file_sha256(file)}


def _build_table(context: StudyContext, name: str, spec: TableEvaluatorSpec) -> Scored:
    from nasaudit.spaces import get_space

    path = table_file(spec, Path(context.resolve(".")))
    base = get_space(context.space.name)
    benchmark = load_table(path, base.name, spec.arch_column)
    if context.space.size != base.size:  # op-masked or reduced: the table's rows inside the space
        benchmark = benchmark.restrict(context.space)
    column = benchmark.column(spec.metric, spec.dataset)
    return Scored(benchmark.evaluator(column, resolve="canonical"), f"table {path.name}, column {column}",
                  spec.units, benchmark, column)


# ----------------------------------------------------------------------------------------- users' own files
FileSpec = NB101EvaluatorSpec | NatsEvaluatorSpec | NB301ResultsEvaluatorSpec


def _check_file(spec: FileSpec, base_dir: Path, space: SearchSpace | None) -> list[Problem]:
    path = resolve_path(base_dir, spec.path)
    problems: list[Problem] = []
    if not path.exists():
        problems.append((("path",), f"not found: {path}"))
    if isinstance(spec, NatsEvaluatorSpec):
        import importlib.util

        from nasaudit.truth.nats import INSTALL_HINT

        if importlib.util.find_spec("nats_bench") is None:
            problems.append((("kind",), f"reading NATS-Bench files needs the nats_bench package; {INSTALL_HINT}"))
    family = {"nb101": "nb101", "nats": "nb201", "nb301_results": "darts"}[spec.kind]
    if space is not None and space.family != family:
        problems.append((("kind",), f"a {spec.kind} evaluator scores the {family} space, not {space.name!r}"))
    return problems


def content_digest(path: Path) -> str:
    """sha256 over the relative name and content hash of every file at ``path`` (a file or a folder)."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return hashlib.sha256("".join(f"{p.relative_to(path.parent)}:{file_sha256(p)}" for p in files).encode()).hexdigest()


def _file_fingerprint(spec: FileSpec, base_dir: Path) -> dict[str, Any]:
    path = resolve_path(base_dir, spec.path)
    return {**identity(spec), "path": str(path), "sha256": content_digest(path)}


@lru_cache(maxsize=8)
def _load_nats(path: str, dataset: str, hp: str, signal: str, report: str) -> TabularBenchmark:
    """An official NATS-Bench file read once per setting (its signal and reported columns serve two evaluators)."""
    from nasaudit.truth.nats import load_nats

    return load_nats(path, dataset, hp=hp, signal=signal, report=report)


def _build_file(context: StudyContext, name: str, spec: FileSpec) -> Scored:
    path = context.resolve(spec.path)
    if isinstance(spec, NB101EvaluatorSpec):
        from nasaudit.truth.nb101_records import nb101_benchmark

        benchmark = nb101_benchmark(path, metrics=(spec.metric,), epochs=(spec.epochs,))
        column = f"{spec.metric}@{spec.epochs}"
        what = f"NB101 {column}, mean over repeats"
    elif isinstance(spec, NatsEvaluatorSpec):
        benchmark = _load_nats(str(path), spec.dataset, spec.hp, spec.signal, spec.report)
        column = spec.metric
        source = {"search_signal": f"{spec.signal} accuracy (search signal)",
                  "reported": f"{spec.report} accuracy (reported score)",
                  "search_signal_last3": f"{spec.signal} accuracy, mean of the last 3 epochs (search signal)"}
        what = f"NATS-Bench {spec.dataset} hp={spec.hp}, {source[spec.metric]}"
    else:
        from nasaudit.truth.surrogate import nb301_benchmark

        benchmark = nb301_benchmark(path, metrics=(spec.metric,))
        column = spec.metric
        what = f"NB301 training set, {spec.metric}"
    if context.space.size != benchmark.space.size:
        benchmark = benchmark.restrict(context.space)
    return Scored(benchmark.evaluator(column, resolve="canonical"), what, spec.units, benchmark, column)


# ----------------------------------------------------------------------------------------- NB301 surrogate
def _importable(module: str) -> bool:
    """Whether ``module`` is installed or already imported (``find_spec`` raises for one without a spec)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ValueError:
        return True


def nb301_source(spec: NB301SurrogateEvaluatorSpec, base_dir: Path) -> Path:
    """What an nb301_surrogate evaluator is fit on: a shipped table by name, or a folder or table file relative
    to the spec (a shipped table not installed raises ``DataError``)."""
    from nasaudit.resources import PACKAGED_TABLES, table_path

    return table_path(spec.path) if spec.path in PACKAGED_TABLES else resolve_path(base_dir, spec.path)


def _check_nb301_surrogate(spec: NB301SurrogateEvaluatorSpec, base_dir: Path,
                           space: SearchSpace | None) -> list[Problem]:
    from nasaudit.spaces.darts import DARTS_OPS, DartsSpace

    problems: list[Problem] = []
    try:
        path: Path | None = nb301_source(spec, base_dir)
    except NasauditError as err:
        path = None
        problems.append((("path",), str(err)))
    if path is not None and path.is_file():
        problems.extend(_check_nb301_table(spec, path))
    elif path is not None:
        problems.extend(_check_nb301_folder(spec, path))
    if spec.model == "official":
        if spec.model_dir is None:
            problems.append((("model_dir",), "model: official needs model_dir, the folder of NB301's model files"))
        elif not resolve_path(base_dir, spec.model_dir).is_dir():
            problems.append((("model_dir",), f"folder not found: {resolve_path(base_dir, spec.model_dir)}"))
        if not _importable("nasbench301"):
            from nasaudit.truth.surrogate import NB301_HINT

            problems.append((("model",), NB301_HINT))
        if spec.heldout != "split":
            problems.append((("heldout",), "model: official is fit by NB301, not here: it is scored on the test "
                                           "split (heldout: split)"))
    elif spec.model_dir is not None:
        problems.append((("model_dir",), f"model_dir is read by model: official only, not by {spec.model!r}"))
    if spec.heldout != "kfold" and spec.folds != 10:
        problems.append((("folds",), "folds is read by heldout: kfold only"))
    if space is not None and not (isinstance(space, DartsSpace) and space.n_nodes == 4
                                  and set(space.ops) <= set(DARTS_OPS)):
        problems.append((("kind",), f"an nb301_surrogate evaluator scores the DARTS space (4 nodes, ops among "
                                    f"{list(DARTS_OPS)}), not {space.name!r}"))
    return problems


def _check_nb301_folder(spec: NB301SurrogateEvaluatorSpec, path: Path) -> list[Problem]:
    from nasaudit.truth.nb301_surrogate import NB301_FOLDER_METRICS
    from nasaudit.truth.tabular import ARCH_COLUMN

    if not path.is_dir():
        name = path.name.lower()
        what = "table" if ".csv" in name or name.endswith((".parquet", ".pq")) else "NB301 results folder"
        return [(("path",), f"{what} not found: {path} (an NB301 results folder, a CSV/parquet DARTS benchmark "
                            "table, or a shipped table's name)")]
    problems: list[Problem] = []
    if spec.metric not in NB301_FOLDER_METRICS:
        problems.append((("metric",), f"an NB301 results folder gives {' or '.join(NB301_FOLDER_METRICS)}, not "
                                      f"{spec.metric!r}"))
    if spec.arch_column != ARCH_COLUMN:
        problems.append((("arch_column",), "arch_column is read from a table only, not from an NB301 results folder"))
    return problems


def _check_nb301_table(spec: NB301SurrogateEvaluatorSpec, path: Path) -> list[Problem]:
    """A DARTS benchmark table: its columns, the metric numeric, every genotype parsed, enough rows held out."""
    from nasaudit.truth.nb301_surrogate import kfold_too_few
    from nasaudit.truth.tabular import table_header

    problems: list[Problem] = []
    if spec.model == "official":
        problems.append((("model",), f"model: official is scored on an NB301 results folder, not a table "
                                     f"({path.name}); use model: gbt or gin"))
    try:
        header = table_header(path)
        if spec.arch_column not in header:
            return [*problems, (("arch_column",), f"no column {spec.arch_column!r} in {path.name}; columns are "
                                                  f"{header}")]
        if spec.metric not in header or spec.metric == spec.arch_column:
            others = [c for c in header if c != spec.arch_column]
            return [*problems, (("metric",), f"no metric column {spec.metric!r} in {path.name}; columns are "
                                             f"{others}")]
        n_rows = _darts_table_rows(str(path), file_sha256(path), spec.arch_column, spec.metric)
    except _NotNumeric as err:
        return [*problems, (("metric",), str(err))]
    except NasauditError as err:
        return [*problems, (("path",), str(err))]
    too_few = kfold_too_few(n_rows, spec.folds) if spec.heldout == "kfold" else _split_too_few(n_rows)
    if too_few is not None:
        problems.append((("path",), f"{path.name}: {too_few}"))
    return problems


class _NotNumeric(DataError):
    """A table's metric column holds a value that is not a number."""


@lru_cache(maxsize=8)
def _darts_table_rows(path: str, sha256: str, arch_column: str, metric: str) -> int:
    """Rows of a DARTS benchmark table, its ``metric`` column numeric and complete and every genotype parsed
    (read once per content)."""
    import numpy as np
    import pandas as pd

    from nasaudit.spaces.darts import DartsSpace
    from nasaudit.truth.tabular import TabularBenchmark, read_frame

    frame = read_frame(path, "DARTS benchmark table")
    values = pd.to_numeric(frame[metric], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise _NotNumeric(f"column {metric!r} of {Path(path).name} is not a complete numeric column: "
                          f"{bad.size} missing or non-numeric value(s), first at data row {bad[0] + 1} "
                          f"({frame[metric].iloc[int(bad[0])]!r})")
    return len(TabularBenchmark.from_frame(frame, DartsSpace(), arch_column, [metric], source=path))


def _split_too_few(n: int) -> str | None:
    from nasaudit.truth.nb301_surrogate import nb301_split

    try:
        nb301_split(n, 0)
    except DataError as err:
        return f"{err}; or use heldout: kfold"
    return None


def _nb301_surrogate_fingerprint(spec: NB301SurrogateEvaluatorSpec, base_dir: Path) -> dict[str, Any]:
    path = nb301_source(spec, base_dir)
    out = {**identity(spec), "path": str(path), "sha256": content_digest(path)}
    if spec.model_dir is not None:
        model_dir = resolve_path(base_dir, spec.model_dir)
        out.update(model_dir=str(model_dir), model_sha256=content_digest(model_dir))
    return out


def _build_nb301_surrogate(context: StudyContext, name: str, spec: NB301SurrogateEvaluatorSpec) -> Scored:
    from nasaudit.jobs.provenance import package_version
    from nasaudit.spaces.darts import DartsSpace
    from nasaudit.truth.gin import GINSettings
    from nasaudit.truth.nb301_surrogate import fit_nb301_surrogate, official_nb301_surrogate

    base_dir = Path(context.resolve("."))
    path = nb301_source(spec, base_dir)
    space = context.space if isinstance(context.space, DartsSpace) else None
    if spec.model == "official":
        model_dir = context.resolve(spec.model_dir or "")
        fitted = official_nb301_surrogate(path, model_dir, spec.metric, spec.seed, space)
        return Scored(fitted, f"official NB301 surrogate ({model_dir.name})", spec.units)
    key = {**_nb301_surrogate_fingerprint(spec, base_dir), "version": package_version()}
    cache = context.work_dir("nb301_surrogates", digest("nb301_surrogate", key))
    settings = GINSettings(hidden=spec.hidden, layers=spec.layers, epochs=spec.epochs, seed=spec.seed)
    fitted = fit_nb301_surrogate(path, cache, spec.model, spec.metric, spec.seed, settings, spec.n_estimators, space,
                                 heldout=spec.heldout, folds=spec.folds, arch_column=spec.arch_column)
    data = f"table {path.name}" if path.is_file() else f"NB301 results folder {path.name}"
    rows = f"{fitted.heldout.n_rows} genotypes, " if fitted.heldout is not None else ""
    held = fitted.heldout.label() if fitted.heldout is not None else spec.heldout
    return Scored(fitted, f"NB301 surrogate ({spec.model}) fit on {data}, {spec.metric} ({rows}held out: {held})",
                  spec.units)


# ----------------------------------------------------------------------------------------- training
def _build_spec(spec: TrainEvaluatorSpec, space: SearchSpace, base_dir: Path) -> Any:
    from nasaudit.jobs.job import freeze_options
    from nasaudit.spaces import get_space
    from nasaudit.truth.builder import BuildSpec

    masked = set(space.ops) != set(get_space(space.name).ops)
    root = {"data_root": str(resolve_path(base_dir, spec.data_root))} if spec.data_root else None
    return BuildSpec(space=space.name, ops=tuple(space.ops) if masked else None, protocol=spec.protocol,
                     dataset=spec.dataset, seeds=tuple(spec.seeds), options=freeze_options(spec.options),
                     runtime=freeze_options(root))


def _check_train(spec: TrainEvaluatorSpec, base_dir: Path, space: SearchSpace | None) -> list[Problem]:
    from nasaudit.train.arch import is_lm_space
    from nasaudit.truth.builder import check_build

    if space is None:
        return []
    if is_lm_space(space) != spec.metric.endswith("_score"):
        wanted = "test_score or val_score (-log perplexity)" if is_lm_space(space) else "test_acc or val_acc"
        return [(("metric",), f"a {space.name!r} cell trained from scratch is scored by {wanted}, not "
                              f"{spec.metric!r}")]
    try:
        check_build(_build_spec(spec, space, base_dir))
    except NasauditError as err:
        return [(("kind",), str(err))]
    return []


def _build_train(context: StudyContext, name: str, spec: TrainEvaluatorSpec) -> Scored:
    from nasaudit.truth.trained import TrainedEvaluator

    build = _build_spec(spec, context.space, Path(context.resolve(".")))
    evaluator = TrainedEvaluator(context.space, build, context.store, context.executor(), metric=spec.metric,
                                 progress=context.progress)
    units: Literal["percent", "fraction"] = "fraction" if spec.metric.endswith("_score") else "percent"
    return Scored(evaluator, f"trained from scratch ({spec.protocol} on {spec.dataset}, mean {spec.metric} over "
                             f"seeds {spec.seeds})", units)


# ----------------------------------------------------------------------------------------- surrogate
def _plain_fingerprint(spec: StrictModel, base_dir: Path) -> dict[str, Any]:
    return identity(spec)


def _check_surrogate(spec: SurrogateEvaluatorSpec, base_dir: Path, space: SearchSpace | None) -> list[Problem]:
    """The model names a predictor of ``PREDICTORS`` (or the alias ``ensemble``): the registry's one-line message."""
    from nasaudit.truth.surrogate import predictor_name

    try:
        predictor_name(spec.model)
    except ConfigError as err:
        return [(("model",), str(err))]
    return []


def _surrogate_fingerprint(spec: SurrogateEvaluatorSpec, base_dir: Path) -> dict[str, Any]:
    """The spec's settings (model, samples, seed when set; the audit's seed is in every result key) and, for a
    plugin's or a user's predictor, its identity as the registry knows it (origin, module, file hash)."""
    from nasaudit.predictors.registry import predictor_identity
    from nasaudit.truth.surrogate import predictor_name

    found = predictor_identity(predictor_name(spec.model))
    return {**identity(spec), **({"predictor": found} if found else {})}


def _build_surrogate(context: StudyContext, name: str, spec: SurrogateEvaluatorSpec) -> Scored:
    from nasaudit.truth.surrogate import SurrogateBenchmark

    seed = context.seed if spec.seed is None else spec.seed
    source = context.scored(spec.fit_on)
    archs, drawn = context.space.sample_many(spec.samples, seed), "archs"
    try:
        scores = source.evaluator.evaluate(archs)
    except DataError:
        if source.benchmark is None:
            raise
        archs, drawn = _table_rows(context.space, source.benchmark, spec, seed), "rows of the table"
        scores = source.evaluator.evaluate(archs)
    model = SurrogateBenchmark(context.space, model=spec.model, seed=seed)
    model.fit(archs, scores)
    alias = f" ({model.predictor_name})" if model.predictor_name != spec.model else ""
    return Scored(model, f"{spec.model}{alias} surrogate fit on {spec.samples} {drawn} scored by {spec.fit_on}",
                  source.units)


def _table_rows(space: SearchSpace, benchmark: TabularBenchmark, spec: SurrogateEvaluatorSpec, seed: SeedLike
                ) -> list[Any]:
    """``spec.samples`` of the table's own architectures in ``space``, drawn with ``seed``: what a surrogate fits on
    when the table holds part of the space only (uniform draws from the space would miss it)."""
    import numpy as np

    from nasaudit.seeding import as_generator

    rows = [a for a in benchmark.archs() if space.contains(a)]
    if len(rows) < spec.samples:
        raise ConfigError(f"the surrogate fits on {spec.samples} architectures, but {spec.fit_on!r} is a table of "
                          f"part of the space holding {len(rows)} of them: set samples to {len(rows)} or fewer")
    chosen = np.sort(as_generator(seed).choice(len(rows), spec.samples, replace=False))
    return [rows[int(i)] for i in chosen]


# ----------------------------------------------------------------------------------------- supernet
def _check_supernet(spec: SupernetEvaluatorSpec, base_dir: Path, space: SearchSpace | None) -> list[Problem]:
    from nasaudit.data.loading import DATASET_NAMES, WITHOUT_ROOT
    from nasaudit.registry import unknown_name_message

    problems: list[Problem] = []
    if spec.dataset not in DATASET_NAMES:
        problems.append((("dataset",), unknown_name_message("dataset", spec.dataset, list(DATASET_NAMES))))
    elif spec.dataset not in WITHOUT_ROOT and spec.data_root is None:
        problems.append((("data_root",), f"dataset {spec.dataset!r} needs data_root: the folder holding its files"))
    elif spec.data_root is not None and not resolve_path(base_dir, spec.data_root).is_dir():
        problems.append((("data_root",), f"folder not found: {resolve_path(base_dir, spec.data_root)}"))
    if space is not None and space.family not in ("nb201", "darts", "nb101"):
        problems.append((("kind",), f"no supernet is defined for space {space.name!r}"))
    return problems


def supernet_config(context: StudyContext, spec: SupernetEvaluatorSpec) -> SupernetConfig:
    """The SPOS config of a supernet evaluator: the audit's space, its missing ops masked."""
    from nasaudit.spaces import get_space
    from nasaudit.weight_sharing.supernet.training import SupernetConfig

    base = context.space.name
    mask = [op for op in get_space(base).ops if op not in context.space.ops]
    size = TINY if spec.size == "tiny" else {"size": spec.size}
    try:
        return SupernetConfig(space=base, mask=tuple(mask), sampling=spec.sampling, epochs=spec.epochs,
                              batch_size=64 if spec.size == "tiny" else None, **size)
    except TypeError as err:
        raise ConfigError(f"cannot build a supernet for space {base!r}: {err}") from None


def train_supernet_evaluator(context: StudyContext, name: str, spec: SupernetEvaluatorSpec,
                             seed: int) -> SupernetEvaluator:
    """Train (or resume from its per-epoch checkpoints) the supernet ``name`` with ``seed``."""
    from nasaudit.weight_sharing.supernet import SupernetEvaluator, train_supernet

    data_root = context.resolve(spec.data_root) if spec.data_root is not None else None
    run = train_supernet(supernet_config(context, spec), spec.dataset, seed=seed, data_root=data_root,
                         checkpoint_dir=context.work_dir("supernets", f"{name}-seed{seed}"),
                         progress=context.progress)
    return SupernetEvaluator(run.supernet, run.splits)


def _build_supernet(context: StudyContext, name: str, spec: SupernetEvaluatorSpec) -> Scored:
    evaluator = train_supernet_evaluator(context, name, spec, context.seed)
    return Scored(evaluator, f"supernet ({spec.size}, {spec.sampling} sampling, {spec.epochs} epochs on "
                  f"{spec.dataset})", "percent")


EVALUATOR_KINDS.add("table", EvaluatorKind(TableEvaluatorSpec, _check_table, _table_fingerprint, _build_table),
                    "ground truth looked up in a benchmark table")
EVALUATOR_KINDS.add("surrogate", EvaluatorKind(SurrogateEvaluatorSpec, _check_surrogate, _surrogate_fingerprint,
                                               _build_surrogate),
                    "a performance predictor (bananas/ensemble, gbt, gp, rf, plugins') fit on another evaluator")
EVALUATOR_KINDS.add("supernet", EvaluatorKind(SupernetEvaluatorSpec, _check_supernet, _plain_fingerprint,
                                              _build_supernet), "a weight-sharing SPOS supernet")
EVALUATOR_KINDS.add("nb301_surrogate", EvaluatorKind(NB301SurrogateEvaluatorSpec, _check_nb301_surrogate,
                                                     _nb301_surrogate_fingerprint, _build_nb301_surrogate),
                    "a surrogate fit on a NAS-Bench-301 results folder or a DARTS benchmark table (GBT, GIN), "
                    "or NB301's official one")
EVALUATOR_KINDS.add("train", EvaluatorKind(TrainEvaluatorSpec, _check_train, _plain_fingerprint, _build_train),
                    "ground truth on demand: trained from scratch with several seeds")
for _spec in (NB101EvaluatorSpec, NatsEvaluatorSpec, NB301ResultsEvaluatorSpec):
    EVALUATOR_KINDS.add(_spec.model_fields["kind"].default, EvaluatorKind(_spec, _check_file, _file_fingerprint,
                                                                          _build_file), _spec.__doc__ or "")


def definition(evaluators: dict[str, Any], name: str, base_dir: Path) -> dict[str, Any]:
    """The resolved definition of evaluator ``name``, with those it is built from (for result keys)."""
    spec = evaluators[name]
    out = EVALUATOR_KINDS.get(spec.kind).fingerprint(spec, base_dir)
    if isinstance(spec, SurrogateEvaluatorSpec):
        out["fit_on"] = definition(evaluators, spec.fit_on, base_dir)
    return out


# ----------------------------------------------------------------------------------------- zero-cost proxy
def _check_proxy(spec: ProxyEvaluatorSpec, base_dir: Path, space: SearchSpace | None) -> list[Problem]:
    from nasaudit.proxies import PROXIES

    data = SupernetEvaluatorSpec(dataset=spec.dataset, data_root=spec.data_root)
    problems = _check_supernet(data, base_dir, None)
    try:
        PROXIES.get(spec.proxy)  # an installed plugin may define it
    except ConfigError as err:
        problems.append((("proxy",), str(err)))
    if space is not None and space.family not in ("nb201", "darts", "nb101"):
        problems.append((("kind",), f"no network is defined for space {space.name!r}"))
    if space is not None and spec.fuse > 1 and space.family != "nb201":
        problems.append((("fuse",), f"fusing networks is for NB201 cells, not space {space.name!r}; use fuse: 1"))
    problem = _device_problem(spec.device)
    return problems + ([(("device",), problem)] if problem else [])


def _device_problem(device: str) -> str | None:
    """Why torch cannot run on ``device`` here (a malformed name, CUDA absent), or None."""
    import torch

    try:
        where = torch.device(device)
    except (RuntimeError, ValueError) as err:
        return f"not a torch device: {device!r} ({str(err).splitlines()[0]})"
    if where.type == "cuda" and not torch.cuda.is_available():
        return f"device {device!r} asks for CUDA, which this machine does not have"
    return None


def _build_proxy(context: StudyContext, name: str, spec: ProxyEvaluatorSpec) -> Scored:
    from nasaudit.proxies.evaluator import ProxyEvaluator
    from nasaudit.proxies.scoring import ProxySetting

    root = str(context.resolve(spec.data_root)) if spec.data_root is not None else None
    setting = ProxySetting(spec.proxy, spec.dataset, spec.batch_size, spec.seed, spec.channels,
                           spec.cells_per_stage, root, spec.device)
    evaluator = ProxyEvaluator(context.space, setting, context.store, context.executor(), fuse=spec.fuse,
                               progress=context.progress)
    return Scored(evaluator, f"zero-cost proxy {spec.proxy} (batch of {spec.batch_size} {spec.dataset} images, "
                             f"seed {spec.seed}, untrained network {spec.channels} channels)", "fraction")


EVALUATOR_KINDS.add("proxy", EvaluatorKind(ProxyEvaluatorSpec, _check_proxy, _plain_fingerprint, _build_proxy),
                    "a zero-cost proxy of the untrained network (grad_norm, snip, synflow, NWOT, ...)")
