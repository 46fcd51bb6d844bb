"""Build your own tabular benchmark: train a space's architectures with S seeds and export the table.

Search-phase paper Sec. 3.2 / 4.2: the ground truth of a reduced space is every architecture trained
individually with several seeds, the mean over seeds being "the actual potential" of an architecture.
A build is named and saved in the results store; its runs go through the executors (sequential, local
processes, Ray), so a killed build resumes with only the missing runs. The exported CSV/parquet table
is read directly by ``TabularBenchmark.from_file`` and carries a JSON sidecar with its provenance and
its seed-to-seed agreement.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from nasaudit._atomic import atomic_table, atomic_write
from nasaudit.errors import ConfigError, DataError
from nasaudit.jobs.executors import Executor, GroupFunction, JobFunction, RunSummary, run_jobs
from nasaudit.jobs.job import NO_OPTIONS, JobResult, Options, OptionValue, digest, freeze_options, identity
from nasaudit.jobs.provenance import command_line, git_commit, package_version
from nasaudit.jobs.store import ResultStore
from nasaudit.seeding import as_generator
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.registry import get_space
from nasaudit.truth.tabular import ARCH_COLUMN
from nasaudit.yamlio import loads_json

CANONICAL_COLUMN = "canonical"
#: metrics that do not depend on the seed: exported once per architecture
ARCH_CONSTANT_METRICS = ("params", "flops")
#: draws allowed per requested architecture before a seeded sample gives up
_DRAWS_PER_SAMPLE = 200
#: how many seeds of one architecture the builder trains at once by default (``build_benchmark``'s ``fuse``)
DEFAULT_FUSE = 8
#: space families whose networks train fused (``nasaudit.nn.fused`` fuses NB201 networks only)
FUSED_FAMILIES = ("nb201",)


@dataclass(frozen=True)
class BuildSpec:
    """What to train: which architectures of which space, under which protocol, on which data, with
    which seeds. ``ops`` restricts the space (op masking); ``unique`` keeps one architecture per
    canonical class; ``sample`` draws that many distinct architectures with ``sample_seed``; ``archs`` names
    architectures (community strings) trained after the sample, or alone when there is no sample (so a
    space too large to enumerate, such as DARTS, can be built from chosen cells);
    ``options`` are trainer keyword arguments that change results (e.g. macro-network width);
    ``runtime`` ones only say where to run (data folder, device)."""

    space: str = "nb201"
    ops: tuple[str, ...] | None = None
    unique: bool = False
    sample: int | None = None
    sample_seed: int = 0
    protocol: str = "cpu_small"
    dataset: str = "embedded"
    seeds: tuple[int, ...] = (0, 1)
    options: Options = NO_OPTIONS
    runtime: Options = field(default=NO_OPTIONS, compare=False)
    archs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "archs", tuple(self.archs))
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError(f"seeds must be distinct non-negative ints, got {list(self.seeds)}")
        if self.sample is not None and self.sample < 1:
            raise ConfigError(f"sample must be a positive number of architectures, got {self.sample}")
        object.__setattr__(self, "options", freeze_options(self.options))
        object.__setattr__(self, "runtime", freeze_options(self.runtime))

    def make_space(self) -> SearchSpace:
        """The (possibly restricted) search space of this build."""
        space = get_space(self.space)
        return space.restrict(self.ops) if self.ops else space

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready identity of the build (``runtime`` left out: it does not change results)."""
        data = asdict(self)
        del data["runtime"]
        data["ops"] = list(self.ops) if self.ops else None
        data["seeds"] = list(self.seeds)
        data["options"] = dict(self.options)
        if self.archs:
            data["archs"] = list(self.archs)
        else:  # absent means none: builds saved before the field existed keep their identity
            del data["archs"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], runtime: dict[str, OptionValue] | None = None) -> BuildSpec:
        """Inverse of ``to_dict``."""
        return cls(**{**data, "ops": tuple(data["ops"]) if data.get("ops") else None,
                      "seeds": tuple(data["seeds"]), "options": freeze_options(data.get("options")),
                      "archs": tuple(data.get("archs") or ()),
                      "runtime": freeze_options(runtime)})


def select_architectures(spec: BuildSpec) -> list[Any]:
    """The build's architectures, in a fixed order: every one, one per canonical class, or a seeded sample
    of distinct ones (distinct classes with ``unique``), followed by the named ``archs`` (duplicates, of an
    architecture or with ``unique`` of a class, kept once)."""
    space = spec.make_space()
    named = [space.parse(text) for text in spec.archs]
    if spec.sample is None:
        archs = named or list(space.enumerate())
        return first_per_class(space, archs) if spec.unique else list(dict.fromkeys(archs))
    if spec.sample > space.size:
        raise ConfigError(f"cannot sample {spec.sample:,} distinct architectures from {space.name!r} "
                          f"({space.size:,} in all)")
    rng = as_generator(spec.sample_seed)
    chosen: dict[Any, Any] = {}
    for _ in range(_DRAWS_PER_SAMPLE * spec.sample):
        arch = space.sample(rng)
        chosen.setdefault(space.canonical(arch) if spec.unique else arch, arch)
        if len(chosen) == spec.sample:
            for arch in named:
                chosen.setdefault(space.canonical(arch) if spec.unique else arch, arch)
            return list(chosen.values())
    raise ConfigError(f"found only {len(chosen):,} distinct {'classes' if spec.unique else 'architectures'} "
                      f"of {space.name!r} in {_DRAWS_PER_SAMPLE * spec.sample:,} draws; ask for fewer")


def first_per_class(space: SearchSpace, archs: Iterable[Any]) -> list[Any]:
    """The first architecture of each equivalence class of ``space``, in the order given."""
    first: dict[str, Any] = {}
    for arch in archs:
        first.setdefault(space.canonical(arch), arch)
    return list(first.values())


@dataclass(frozen=True)
class TrainJob:
    """Train one architecture from scratch with one seed (a row of a tabular benchmark).

    ``options`` are extra keyword arguments of the trainer (macro-network sizes and the like; JSON values,
    nested allowed); they are part of the identity because they change the result. ``runtime`` options say
    only where to run (data folder, device) and are left out of the id, as is ``canonical`` (derived from
    ``arch``). The id is the canonical JSON of the other fields (``nasaudit.jobs.job.identity``): a field added
    later with ``absent_means`` leaves the ids of stored runs unchanged while it holds that value.
    """

    table: ClassVar[str] = "training_runs"

    space: str
    arch: str
    canonical: str
    protocol: str
    dataset: str
    seed: int
    options: Options = NO_OPTIONS
    runtime: Options = field(default=NO_OPTIONS, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", freeze_options(self.options))
        object.__setattr__(self, "runtime", freeze_options(self.runtime))

    @property
    def job_id(self) -> str:
        return digest(self.table, identity(self, exclude={"canonical"}))

    def columns(self) -> dict[str, Any]:
        return {"space": self.space, "arch": self.arch, "canonical": self.canonical,
                "protocol": self.protocol, "dataset": self.dataset, "seed": self.seed,
                "options": dict(self.options)}


def build_jobs(spec: BuildSpec) -> list[TrainJob]:
    """One training job per (architecture, seed), architecture-major."""
    space = spec.make_space()
    return [
        TrainJob(space=spec.space, arch=space.format(arch), canonical=space.canonical(arch),
                 protocol=spec.protocol, dataset=spec.dataset, seed=seed, options=spec.options,
                 runtime=spec.runtime)
        for arch, seed in itertools.product(select_architectures(spec), spec.seeds)
    ]


def register_build(name: str, spec: BuildSpec, store: ResultStore, command: str | None = None) -> None:
    """Save build ``name`` in the store; a name already used for a different spec is refused."""
    if name in store.build_names():
        saved = store.load_build(name)["spec"]
        if saved != spec.to_dict():
            raise ConfigError(f"build {name!r} already exists in the store with spec {saved}; rerun it with "
                              "the same options to resume it, or choose another name")
        return
    store.save_build(name, spec.to_dict(), command or command_line())


def build_benchmark(name: str, spec: BuildSpec, store: ResultStore, executor: Executor | None = None, *,
                    fn: JobFunction | None = None, group_fn: GroupFunction | None = None, fuse: int = DEFAULT_FUSE,
                    max_attempts: int = 2, progress: bool = True, command: str | None = None) -> RunSummary:
    """Train every (architecture, seed) of ``spec`` not yet done in ``store`` (search-phase paper Sec. 3.2).

    ``fn`` trains one job (default: ``train_job``, from scratch with ``train_arch``). The pending seeds of
    one architecture are trained ``fuse`` at a time by ``group_fn`` (default with the default ``fn``:
    ``train_jobs_fused``; none with a custom ``fn``), and recorded as their own runs: ``fuse`` says how to
    train, not what, so the job ids, and a build resumed with another ``fuse``, stay the same. ``fuse=1``
    trains every run on its own, and so does a space whose family has no fusion (not in ``FUSED_FAMILIES``:
    DARTS, NB101, the RNN spaces), whatever ``fuse`` says.
    """
    if fuse < 1:
        raise ConfigError(f"fuse must be at least 1 network per training call, got {fuse}")
    check_build(spec)
    if spec.make_space().family not in FUSED_FAMILIES:
        fuse = 1
    register_build(name, spec, store, command)
    if group_fn is None and fn is None:
        group_fn = train_jobs_fused
    grouped = group_fn is not None and fuse > 1
    return run_jobs(build_jobs(spec), fn or train_job, store, executor, max_attempts=max_attempts,
                    progress=progress, description=f"build {name}", group_fn=group_fn if grouped else None,
                    group_key=fusion_key if grouped else None, group_size=fuse)


def check_build(spec: BuildSpec) -> None:
    """Everything checkable before a build is recorded: protocol and its overrides, dataset and its folder, the
    macro-network options (one network is built), the sample size. A build that fails leaves nothing behind.
    RNN spaces (``train.arch.is_lm_space``) take a language-model protocol and a text dataset, image spaces an
    image protocol and an image dataset; the other kind is refused in one line."""
    from nasaudit.data.loading import DATASET_NAMES, WITHOUT_ROOT
    from nasaudit.data.text import TEXT_DATASETS, TEXT_WITHOUT_ROOT
    from nasaudit.registry import unknown_name_message
    from nasaudit.train import PROTOCOLS
    from nasaudit.train.arch import is_lm_space
    from nasaudit.train.lm import LM_PROTOCOLS

    space = spec.make_space()
    lm = is_lm_space(space)
    names, without_root = (TEXT_DATASETS, TEXT_WITHOUT_ROOT) if lm else (DATASET_NAMES, WITHOUT_ROOT)
    if spec.dataset not in names:
        if spec.dataset in (DATASET_NAMES if lm else TEXT_DATASETS):
            raise ConfigError(f"dataset {spec.dataset!r} is {'an image' if lm else 'a text'} dataset; space "
                              f"{space.name!r} trains on {'a text' if lm else 'an image'} dataset "
                              f"({', '.join(names)})")
        raise ConfigError(unknown_name_message("dataset", spec.dataset, list(names)))
    protocols = LM_PROTOCOLS if lm else PROTOCOLS
    if spec.protocol not in protocols:
        if spec.protocol in (PROTOCOLS if lm else LM_PROTOCOLS):
            raise ConfigError(f"protocol {spec.protocol!r} is {'an image' if lm else 'a language-model'} protocol; "
                              f"space {space.name!r} takes {'a language-model' if lm else 'an image'} protocol "
                              f"({', '.join(sorted(protocols))})")
        what = "language-model protocol" if lm else "training protocol"
        raise ConfigError(unknown_name_message(what, spec.protocol, sorted(protocols)))
    data_root = dict(spec.runtime).get("data_root")
    if spec.dataset not in without_root and (data_root is None or not Path(str(data_root)).is_dir()):
        raise ConfigError(f"dataset {spec.dataset!r} needs --data-root, an existing folder (got {data_root!r})")
    if lm and spec.dataset in without_root and data_root is not None:
        raise ConfigError(f"text dataset {spec.dataset!r} ships with the package and takes no --data-root")
    if spec.sample is not None and spec.sample > space.size:
        raise ConfigError(f"sample {spec.sample} exceeds the {space.size:,} architectures of the space")
    for text in spec.archs:
        space.parse(text)  # a bad string is one ArchitectureError naming it
    arch = space.sample(spec.sample_seed)
    protocol, options = _protocol_and_options(spec.space, spec.protocol, spec.options)
    if lm:
        _check_lm_network(arch, protocol, options)
    else:
        _check_image_network(arch, space, protocol, options)


def _check_image_network(arch: Any, space: SearchSpace, protocol: Any, options: dict[str, Any]) -> None:
    """Build one image network with the build's macro options (a bad option fails here, before training)."""
    from nasaudit.nn.networks import build_network

    for key in _TRAIN_ARCH_OPTIONS:
        options.pop(key, None)
    build_network(arch, space, num_classes=10, **{**protocol.macro.get(space.family, {}), **options})


def _check_lm_network(arch: Any, protocol: Any, options: dict[str, Any]) -> None:
    """Build one small-vocabulary language model with the build's model options and check ``text_prefix``."""
    from nasaudit.nn.rnn_cell import RNNModel
    from nasaudit.train.arch import check_text_prefix, lm_model_kwargs

    check_text_prefix(options.pop(_TEXT_PREFIX, None))
    RNNModel(2, arch, **lm_model_kwargs(protocol, **options))


def delete_build(name: str, store: ResultStore) -> int:
    """Delete build ``name`` and its runs that no other build of the store shares; how many runs went."""
    spec = BuildSpec.from_dict(store.load_build(name)["spec"])
    shared = {job.job_id for other in store.build_names() if other != name
              for job in build_jobs(BuildSpec.from_dict(store.load_build(other)["spec"]))}
    return store.delete_build(name, [job.job_id for job in build_jobs(spec) if job.job_id not in shared])


def build_progress(name: str, store: ResultStore) -> dict[str, int]:
    """How many of build ``name``'s runs are done, failed and not yet attempted."""
    spec = BuildSpec.from_dict(store.load_build(name)["spec"])
    jobs = build_jobs(spec)
    runs = store.runs(space=spec.space, protocol=spec.protocol, dataset=spec.dataset,
                      job_ids=[job.job_id for job in jobs])
    counts = runs["status"].value_counts()
    done, failed = int(counts.get("done", 0)), int(counts.get("failed", 0))
    return {"total": len(jobs), "done": done, "failed": failed, "missing": len(jobs) - done - failed}


# --------------------------------------------------------------------------------------------- export
def benchmark_table(name: str, store: ResultStore, *, partial: bool = False) -> pd.DataFrame:
    """The build's table: one row per architecture with the mean, std and per-seed value of each
    seed-dependent metric, the seed-independent ones (params, FLOPs) once, and the mean train time.

    An architecture missing a seed makes the build incomplete: that is an error, or with ``partial``
    the architecture is left out.
    """
    spec = BuildSpec.from_dict(store.load_build(name)["spec"])
    jobs = build_jobs(spec)
    runs = _done_runs(spec, jobs, store)
    if runs.empty:
        raise DataError(f"build {name!r} has no finished runs yet; run `nasaudit bench build {name}` first")
    metrics = pd.DataFrame.from_records(runs["metrics"].tolist(), index=runs.index)
    for column in metrics.columns:  # the trainer records numbers only: text here means an edited store
        if any(not isinstance(v, (int, float)) or isinstance(v, bool) for v in metrics[column].dropna()):
            raise DataError(f"build {name!r}: metric {column!r} of a finished run in the store is not a number; "
                            "the store was edited or damaged")
    metrics = metrics.select_dtypes("number").astype(np.float64)
    long = pd.concat([runs[["arch", "canonical", "seed"]], metrics], axis=1)
    order = list(dict.fromkeys(job.arch for job in jobs))
    counts = long.groupby("arch")["seed"].nunique().reindex(order, fill_value=0)
    incomplete = counts[counts < len(spec.seeds)]
    if len(incomplete) and not partial:
        raise DataError(f"build {name!r} is incomplete: {len(incomplete):,} of {len(order):,} architectures "
                        f"lack some of the {len(spec.seeds)} seeds; finish it with `nasaudit bench build "
                        f"{name}`, or export with partial=True (--partial) to leave them out")
    kept = [arch for arch in order if counts[arch] == len(spec.seeds)]
    wide = long.pivot(index="arch", columns="seed", values=list(metrics.columns)).reindex(kept)
    table = pd.DataFrame({ARCH_COLUMN: kept,
                          CANONICAL_COLUMN: long.drop_duplicates("arch").set_index("arch")["canonical"]
                          .reindex(kept).to_numpy()})
    for metric in metrics.columns:
        per_seed = wide[metric].to_numpy()
        if metric in ARCH_CONSTANT_METRICS:
            table[metric] = per_seed[:, 0]
        elif metric.endswith(("_time", "_seconds")):
            table[metric] = per_seed.mean(axis=1)
        else:
            table[metric] = per_seed.mean(axis=1)
            if len(spec.seeds) > 1:
                table[f"{metric}_std"] = per_seed.std(axis=1, ddof=1)
            for column, seed in enumerate(wide[metric].columns):
                table[f"{metric}_seed{seed}"] = per_seed[:, column]
    return table


def _done_runs(spec: BuildSpec, jobs: list[TrainJob], store: ResultStore) -> pd.DataFrame:
    return store.runs(space=spec.space, protocol=spec.protocol, dataset=spec.dataset, status="done",
                      job_ids=[job.job_id for job in jobs])


def metadata_path(table_path: str | Path) -> Path:
    """The JSON sidecar of an exported table: ``<table file name>.meta.json`` beside it."""
    path = Path(table_path)
    return path.with_name(path.name + ".meta.json")


def read_metadata(table_path: str | Path) -> dict[str, Any]:
    """The provenance and seed agreement saved beside an exported table."""
    path = metadata_path(table_path)
    if not path.is_file():
        raise DataError(f"no metadata beside {table_path}: expected {path}")
    metadata = loads_json(path.read_bytes(), f"metadata {path}")
    if not isinstance(metadata, dict):
        raise DataError(f"metadata {path} is a JSON {type(metadata).__name__}, not an object")
    return metadata


def export_benchmark(name: str, store: ResultStore, path: str | Path, *, partial: bool = False,
                     metric: str = "test_acc") -> pd.DataFrame:
    """Write build ``name``'s table to ``path`` (CSV, or parquet for ``.parquet``/``.pq``) and its
    metadata sidecar: spec, build and export commands, version, commit, size and seed agreement."""
    build = store.load_build(name)
    spec = BuildSpec.from_dict(build["spec"])
    table = benchmark_table(name, store, partial=partial)
    out = Path(path)
    atomic_table(table, out)
    runs = _done_runs(spec, build_jobs(spec), store)
    has_seeds = len(spec.seeds) >= 2 and f"{metric}_seed{spec.seeds[0]}" in table
    agreement = seed_agreement(table, metric) if has_seeds else None
    metadata = {
        "name": name,
        "spec": build["spec"],
        "build_command": build["command"],
        "export_command": command_line(),
        "package_version": package_version(),
        "git_commit": git_commit(),
        "build_package_version": build["package_version"],
        "build_git_commit": build["git_commit"],
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "architectures": len(table),
        "architectures_left_out": int(runs["arch"].nunique() - len(table)),
        "seeds": list(spec.seeds),
        "columns": list(table.columns),
        "total_train_hours": float(runs["duration_s"].sum() / 3600),
        "seed_agreement": agreement.to_dict() if agreement else None,
    }
    if agreement is None:
        metadata["seed_agreement_note"] = (f"unknown: the build has {len(spec.seeds)} seed(s); seed-to-seed "
                                           "agreement needs at least two")
    atomic_write(metadata_path(out), json.dumps(metadata, indent=2) + "\n")
    return table


# --------------------------------------------------------------------------------------------- quality
@dataclass(frozen=True)
class SeedAgreement:
    """How reproducible and how spread out a built table is (search-phase paper Sec. 4.2, App. A.1).

    ``kendall_tau`` is scipy's tau-b between the per-seed rankings of the architectures, for each pair
    of seeds, and ``mean_tau`` their mean; the spread describes the seed-mean ``metric`` over
    architectures; ``mean_seed_std`` is the typical seed-to-seed std of one architecture.
    """

    metric: str
    architectures: int
    kendall_tau: dict[str, float]
    mean_tau: float
    mean: float
    std: float
    minimum: float
    maximum: float
    iqr: float
    mean_seed_std: float

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return asdict(self)


def seed_agreement(table: pd.DataFrame, metric: str = "test_acc") -> SeedAgreement:
    """Seed-to-seed Kendall tau and accuracy spread of a table exported by ``export_benchmark``."""
    columns = sorted((c for c in table.columns if c.startswith(f"{metric}_seed")),
                     key=lambda c: int(c.rsplit("seed", 1)[1]))
    if len(columns) < 2:
        raise DataError(f"seed agreement needs at least two per-seed columns '{metric}_seed<S>'; "
                        f"the table has {columns or 'none'}")
    per_seed = table[columns].to_numpy(dtype=np.float64)
    taus = {f"{a.rsplit('seed', 1)[1]}-{b.rsplit('seed', 1)[1]}":
            float(kendalltau(table[a], table[b]).statistic) for a, b in itertools.combinations(columns, 2)}
    means = per_seed.mean(axis=1)
    q25, q75 = np.percentile(means, [25, 75])
    return SeedAgreement(
        metric=metric, architectures=len(table), kendall_tau=taus, mean_tau=float(np.mean(list(taus.values()))),
        mean=float(means.mean()), std=float(means.std(ddof=1)) if len(means) > 1 else 0.0,
        minimum=float(means.min()), maximum=float(means.max()), iqr=float(q75 - q25),
        mean_seed_std=float(per_seed.std(axis=1, ddof=1).mean()),
    )


# --------------------------------------------------------------------------------------------- training
#: trainer options that are keyword arguments of ``train_arch`` itself (the rest shape the protocol or network)
_TRAIN_ARCH_OPTIONS = ("val_fraction", "test_each_epoch")
#: the option of ``train_lm_arch`` itself: (train, valid, test) token counts kept of the corpus
_TEXT_PREFIX = "text_prefix"


def _protocol_and_options(space: str, protocol: str, options: Options) -> tuple[Any, dict[str, Any]]:
    """The protocol named ``protocol`` for ``space``'s family (an ``LMProtocol`` for RNN spaces) with the overrides
    among ``options`` (those named like one of its fields), and the other options."""
    from nasaudit.train import TrainProtocol, get_protocol
    from nasaudit.train.arch import is_lm_space
    from nasaudit.train.lm import LMProtocol, get_lm_protocol

    lm = is_lm_space(get_space(space))
    fields = (LMProtocol if lm else TrainProtocol).__dataclass_fields__
    rest = dict(options)
    overrides = {k: rest.pop(k) for k in list(rest) if k in fields}
    named = get_lm_protocol(protocol) if lm else get_protocol(protocol)
    return (named.with_overrides(**overrides) if overrides else named), rest


def _trainer_arguments(job: TrainJob) -> tuple[Any, dict[str, Any]]:
    """The protocol of ``job`` (with its overrides) and the other keyword arguments of its trainer."""
    protocol, options = _protocol_and_options(job.space, job.protocol, job.options)
    runtime = dict(job.runtime)
    return protocol, {"dataset": job.dataset, "data_root": runtime.get("data_root"), "device": runtime.get("device"),
                      "progress": False, **options}


def _job_result(result: Any) -> JobResult:
    """A ``TrainResult``'s final metrics and per-epoch curves, as the builder records them (an ``LMResult``'s:
    ``_lm_job_result``)."""
    from nasaudit.train.lm import LMResult

    if isinstance(result, LMResult):
        return _lm_job_result(result)
    metrics = {"val_acc": result.final_val_acc, "test_acc": result.test_acc, "test_loss": result.test_loss,
               "params": result.params, "flops": result.flops, "train_seconds": result.wall_time_s}
    curves = {name: [getattr(record, name) for record in result.history]
              for name in ("lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds")}
    if result.history and result.history[0].test_acc is not None:  # option test_each_epoch
        curves["test_acc"] = [record.test_acc for record in result.history]
    return JobResult(metrics=metrics, curves=curves)


def _lm_job_result(result: Any) -> JobResult:
    """A language-model run (``LMResult``) as the builder records it (search-phase paper Table 3A: perplexity).

    Metrics: ``val_ppl`` (the best validation perplexity) and ``val_loss`` (its mean NLL per token), ``test_ppl``
    and ``test_loss`` (of the best-validation weights), ``val_score = -val_loss`` and ``test_score = -test_loss``
    (higher is better, the order of the perplexities reversed: what evaluators read), ``params``,
    ``train_seconds``. Curves per epoch: ``lr``, ``train_loss``, ``val_loss``, ``train_ppl``, ``val_ppl``,
    ``train_acc``/``val_acc`` (next-token accuracy %), ``seconds``."""
    val_loss = min(record.val_loss for record in result.history)
    metrics = {"val_ppl": result.best_val_ppl, "val_loss": val_loss, "val_score": -val_loss,
               "test_ppl": result.test_ppl, "test_loss": result.test_loss, "test_score": -result.test_loss,
               "params": result.params, "train_seconds": result.wall_time_s}
    curves = {name: [getattr(record, name) for record in result.history]
              for name in ("lr", "train_loss", "val_loss", "train_acc", "val_acc", "seconds")}
    curves.update(train_ppl=list(result.train_ppl), val_ppl=list(result.val_ppl))
    return JobResult(metrics=metrics, curves=curves)


def train_job(job: TrainJob) -> JobResult:
    """Train ``job.arch`` from scratch with ``nasaudit.train.train_arch`` (search-phase paper Sec. 3.2: one
    individually trained run per architecture and seed); keep its final metrics and per-epoch curves.

    Options named like a ``TrainProtocol`` field (e.g. ``epochs``) override the protocol, ``val_fraction``
    goes to ``train_arch``, and any other option to the macro network (e.g. ``channels``). An RNN space's job
    trains a language model with ``train_lm_arch`` (``LMProtocol`` fields override the protocol, ``text_prefix``
    goes to ``train_lm_arch``, other options to ``RNNModel``) and records ``_lm_job_result``'s metrics.
    """
    from nasaudit.train.arch import is_lm_space, train_arch, train_lm_arch  # torch loads in the workers only

    space = get_space(job.space)
    protocol, kwargs = _trainer_arguments(job)
    if is_lm_space(space):  # RNN spaces: a language model, perplexities (``_lm_job_result``)
        return _job_result(train_lm_arch(space, space.parse(job.arch), protocol=protocol, seed=job.seed, **kwargs))
    return _job_result(train_arch(space, space.parse(job.arch), protocol=protocol, seed=job.seed, **kwargs))


def fusion_key(job: TrainJob) -> tuple[Any, ...]:
    """What the jobs trained together by ``train_jobs_fused`` share: everything but the seed."""
    return (job.space, job.arch, job.protocol, job.dataset, job.options, job.runtime)


def train_jobs_fused(jobs: Sequence[TrainJob]) -> list[JobResult]:
    """Train the seeds of one architecture at once (horizontal fusion, ``nasaudit.train.fused.train_fused``),
    each exactly as ``train_job`` would train it alone (bit for bit on CPU: fused kernels run only where a probe
    finds them exact, ``nn/fused.py``); one ``JobResult`` per job, in
    order, with exactly ``train_job``'s metrics and curves (wall time shared evenly). Search-phase paper
    Sec. 3.2: the S individually trained seeds of each architecture."""
    from nasaudit.train.fused import train_fused  # torch loads in the workers only

    first = jobs[0]
    if any(fusion_key(job) != fusion_key(first) for job in jobs):
        raise ConfigError("train_jobs_fused trains the seeds of one setting: the jobs differ in more than the seed")
    space = get_space(first.space)
    protocol, kwargs = _trainer_arguments(first)
    results = train_fused([space.parse(first.arch)] * len(jobs), [job.seed for job in jobs], space,
                          protocol=protocol, **kwargs)
    return [_job_result(result) for result in results]
