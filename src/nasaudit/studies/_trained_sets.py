"""Named sets of architectures trained as jobs, the machinery the ``arch_sets`` and ``dynamics`` studies share
(architectures paper Sec. 4.1, 5; redundancy paper Figs. 5, 6, 10b, Table 2a).

A study names one or more *sets*, each made by a generator of ``nasaudit.analysis.arch_sets``; every
(architecture, seed, learning rate) is one ``TrainJob`` run through the audit's executor into its store
(a killed study retrains only the missing runs; per-epoch checkpoints under ``<output>/runs/<job id>``
also resume a run killed mid-way and keep the final weights). Every member of a set has a *group* (what
it is: ``original``, ``connection``, ``widest_shallowest``, ``high/2``, ``primskip``, ...) and a
*pair* (what it is paired on: its base cell, or its sample index).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from nasaudit.errors import DataError, TrainingError
from nasaudit.jobs.job import JobResult, OptionValue, freeze_options
from nasaudit.limits import MAX_EPOCHS, MAX_LR
from nasaudit.studies._base import (
    Plot,
    SeedValue,
    StrictModel,
    StudyContext,
    StudySpec,
)

if TYPE_CHECKING:
    import pandas as pd
    from torch import nn

    from nasaudit.analysis.arch_sets import ArchSet
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.train.protocols import TrainProtocol
    from nasaudit.truth.builder import TrainJob

#: the architectures paper's learning-rate sweep (Sec. 4.1, Fig. 4; App. A.3: default 0.025)
PAPER_LRS = (0.0025, 0.025, 0.25)
#: option marking a run trained with the test split scored after every epoch (part of the job id)
PER_EPOCH_TEST = "per_epoch_test"
#: suffix of the name of a space whose cells may carry switched-off (``none``) operations
DISABLED_SUFFIX = "+none"
NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$"


# ------------------------------------------------------------------ set specs
class _SetSpec(StrictModel):
    name: str = Field(pattern=NAME_PATTERN)


class _BasedSetSpec(_SetSpec):
    """Base cells: published genotype names or genotype strings, plus ``sample`` random cells of the space."""

    bases: list[str] = Field(default_factory=list, max_length=1000)
    sample: int = Field(0, ge=0, le=1000)

    @model_validator(mode="after")
    def _some_base(self) -> _BasedSetSpec:
        if not self.bases and not self.sample:
            raise ValueError("give base cells (bases) or a number of random ones (sample)")
        return self


CellType = Literal["normal", "reduce"]


class VariantSetSpec(_BasedSetSpec):
    """Each base and ``n`` random connection or operation variants of its cells (architectures App. A.2)."""

    generator: Literal["variants"] = "variants"
    n: int = Field(10, ge=1, le=1000)
    variant_kind: Literal["connection", "operation"] = "connection"
    cell_types: list[CellType] = Field(["normal"], min_length=1)


class ShapeSetSpec(_BasedSetSpec):
    """Each base, its widest-shallowest and its narrowest-deepest adaptation (architectures Sec. 5, Table 1)."""

    generator: Literal["shape"] = "shape"
    cell_types: list[CellType] = Field(["normal", "reduce"], min_length=1)


class CellSwapSetSpec(_BasedSetSpec):
    """Each base, red<-nor, nor<-red, nor<-skip and red<-skip (redundancy Fig. 6)."""

    generator: Literal["cell_swap"] = "cell_swap"


class PrimSkipEditSetSpec(_BasedSetSpec):
    """Each base and its minimal PrimSkip edit (redundancy Table 2a)."""

    generator: Literal["primskip_edit"] = "primskip_edit"


class SwitchOffSetSpec(_SetSpec):
    """Operations switched off in operation-importance order, high-first and low-first (redundancy Fig. 5).

    The architectures are ``archs`` plus ``sample`` drawn from those the importance table covers (the top
    ``top`` fraction under the study's ``evaluator``, or the rows of its ``importance`` CSV).
    """

    generator: Literal["switch_off"] = "switch_off"
    archs: list[str] = Field(default_factory=list, max_length=1000)
    sample: int = Field(0, ge=0, le=1000)
    max_disabled: int | None = Field(None, ge=0, le=1000)
    orders: list[Literal["high", "low"]] = Field(["high", "low"], min_length=1)

    @model_validator(mode="after")
    def _some_arch(self) -> SwitchOffSetSpec:
        if not self.archs and not self.sample:
            raise ValueError("give architectures (archs) or a number to draw from the importance table (sample)")
        return self


class PrimSkipGroupSetSpec(_SetSpec):
    """``n_per_group`` samples of each PrimSkip group (redundancy Fig. 10b)."""

    generator: Literal["primskip_groups"] = "primskip_groups"
    n_per_group: int = Field(5, ge=1, le=1000)
    groups: list[Literal["random", "skip", "prim", "primskip"]] = Field(["random", "skip", "prim", "primskip"],
                                                                       min_length=1)


class ArchListSetSpec(_SetSpec):
    """An explicit list of architecture strings of the audit's space."""

    generator: Literal["archs"] = "archs"
    archs: list[str] = Field(min_length=1, max_length=10_000)


SetSpec = Annotated[Union[VariantSetSpec, ShapeSetSpec, CellSwapSetSpec, PrimSkipEditSetSpec,  # noqa: UP007
                          SwitchOffSetSpec, PrimSkipGroupSetSpec, ArchListSetSpec],
                    Field(discriminator="generator")]


class TrainedSetsSpec(StudySpec):
    """Sets of architectures trained with a protocol (``nasaudit.train.PROTOCOLS``) on a dataset, once per seed
    and learning rate. ``epochs`` and ``lrs`` override the protocol (``lrs``: one run per value, e.g. the
    architectures paper's 0.0025 / 0.025 / 0.25); ``macro`` overrides the network (e.g. channels, layers).
    ``importance`` (an operation-importance CSV) or ``evaluator`` (an evaluator of the audit) ranks the
    operations of ``switch_off`` sets."""

    evaluator_fields = ("evaluator",)
    file_fields = ("importance",)

    sets: list[SetSpec] = Field(min_length=1)
    protocol: str = "cpu_small"
    dataset: str = "embedded"
    data_root: str | None = None
    seeds: list[SeedValue] = Field(default_factory=lambda: [0], min_length=1, max_length=1000)
    epochs: int | None = Field(None, ge=1, le=MAX_EPOCHS)
    lrs: list[Annotated[float, Field(le=MAX_LR)]] | None = Field(None, min_length=1, max_length=100)
    macro: dict[str, OptionValue] = Field(default_factory=dict)
    device: str | None = None
    importance: str | None = None
    evaluator: str | None = None
    top: float = Field(0.05, gt=0, le=1)
    threshold: float = Field(0.001, ge=0, le=1)
    fraction: float = Field(0.9, gt=0, le=1)

    @field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        if len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(f"seeds must be distinct non-negative ints, got {seeds}")
        return seeds

    @field_validator("lrs")
    @classmethod
    def _positive_lrs(cls, lrs: list[float] | None) -> list[float] | None:
        if lrs is not None and (min(lrs) <= 0 or len(set(lrs)) != len(lrs)):
            raise ValueError(f"learning rates must be distinct and positive, got {lrs}")
        return lrs

    @field_validator("protocol")
    @classmethod
    def _known_protocol(cls, protocol: str) -> str:
        from nasaudit.train.protocols import PROTOCOLS

        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown training protocol {protocol!r}; choose from {sorted(PROTOCOLS)}")
        return protocol

    @model_validator(mode="after")
    def _consistent(self) -> TrainedSetsSpec:
        names = [s.name for s in self.sets]
        if len(set(names)) != len(names):
            raise ValueError(f"set names must be distinct, got {names}")
        if any(isinstance(s, SwitchOffSetSpec) for s in self.sets) and (self.importance is None) == (
                self.evaluator is None):
            raise ValueError("switch_off sets need exactly one of importance (a CSV) or evaluator")
        return self


# ------------------------------------------------------------------ building the sets
def _named_bases(context: StudyContext, spec: _BasedSetSpec) -> dict[str, Any]:
    from nasaudit.analysis.published import published_genotype, published_names

    known = set(published_names())
    named: dict[str, Any] = {}
    for i, text in enumerate(spec.bases):
        named[text if text in known else f"arch{i + 1}"] = (published_genotype(text) if text in known
                                                            else context.space.parse(text))
    for i, arch in enumerate(context.space.sample_many(spec.sample, context.seed)):
        named[f"random{i + 1}"] = arch
    return named


def _importance_table(context: StudyContext, spec: TrainedSetsSpec, archs: list[Any], sample: int) -> pd.DataFrame:
    import pandas as pd

    from nasaudit.analysis.importance import operation_importance
    from nasaudit.studies._common import top_operation_importance
    from nasaudit.truth.tabular import read_frame

    if spec.importance is not None:
        return read_frame(context.resolve(spec.importance), "operation-importance table")
    assert spec.evaluator is not None
    frames = [top_operation_importance(context, spec.evaluator, spec.top, spec.threshold)] if sample else []
    if archs:
        scored = context.scored(spec.evaluator)
        frames.append(operation_importance(scored.evaluator, archs, units=scored.units, threshold=spec.threshold))
    return pd.concat(frames, ignore_index=True)


def _switch_off(context: StudyContext, spec: TrainedSetsSpec, set_spec: SwitchOffSetSpec) -> ArchSet:
    import numpy as np
    import pandas as pd

    from nasaudit.analysis.arch_sets import ArchSet, switch_off_set, with_disabled_ops
    from nasaudit.seeding import as_generator

    space = context.space
    explicit = [space.parse(text) for text in set_spec.archs]
    oi = _importance_table(context, spec, explicit, set_spec.sample)
    chosen = list(explicit)
    if set_spec.sample:
        covered = [a for a in dict.fromkeys(oi["arch"].astype(str)) if a not in {str(x) for x in explicit}]
        if set_spec.sample > len(covered):
            raise DataError(f"set {set_spec.name!r}: cannot draw {set_spec.sample} architectures from the "
                            f"{len(covered)} the importance table covers")
        picks = np.sort(as_generator(context.seed).choice(len(covered), size=set_spec.sample, replace=False))
        chosen += [space.parse(covered[i]) for i in picks]
    archs: list[Any] = []
    frames = []
    for i, arch in enumerate(chosen):
        one = switch_off_set(space, oi, arch, set_spec.max_disabled, tuple(set_spec.orders))
        archs.extend(one.archs)
        frames.append(one.table.assign(group=one.table["label"], pair=f"arch{i + 1}",
                                       label=[f"arch{i + 1}/{label}" for label in one.table["label"]]))
    return ArchSet(set_spec.name, with_disabled_ops(space), tuple(archs), pd.concat(frames, ignore_index=True))


def build_set(context: StudyContext, spec: TrainedSetsSpec, set_spec: Any) -> ArchSet:
    """The architectures of one set spec, its table with ``group`` and ``pair`` columns (module doc)."""
    from nasaudit.analysis import arch_sets as gen

    space = context.space
    if isinstance(set_spec, SwitchOffSetSpec):
        made = _switch_off(context, spec, set_spec)
    elif isinstance(set_spec, PrimSkipGroupSetSpec):
        made = gen.primskip_group_set(space, set_spec.n_per_group, context.seed, tuple(set_spec.groups))
        made = replace(made, table=made.table.assign(pair=[label.split("/")[-1] for label in made.table["label"]]))
    elif isinstance(set_spec, ArchListSetSpec):
        archs = [space.parse(text) for text in set_spec.archs]
        made = gen.ArchSet(set_spec.name, space, tuple(archs), _list_table(archs, set_spec.name))
    else:
        bases = _named_bases(context, set_spec)
        if isinstance(set_spec, VariantSetSpec):
            made = gen.random_variant_set(space, bases, set_spec.n, context.seed, set_spec.variant_kind,
                                          tuple(set_spec.cell_types))
            groups = made.table["kind"]
        elif isinstance(set_spec, ShapeSetSpec):
            made = gen.shape_adaptation_set(space, bases, tuple(set_spec.cell_types))
            groups = made.table["adaptation"]
        elif isinstance(set_spec, CellSwapSetSpec):
            made = gen.cell_swap_set(space, bases)
            groups = made.table["derivation"]
        else:
            made = gen.primskip_edit_set(space, bases)
            groups = made.table["edited"].map({False: "original", True: "edited"})
        made = replace(made, table=made.table.assign(group=groups, pair=made.table["base"]))
    return replace(made, name=set_spec.name)


def _list_table(archs: list[Any], name: str) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"label": [f"arch{i + 1}" for i in range(len(archs))], "arch": [str(a) for a in archs],
                         "group": name, "pair": [f"arch{i + 1}" for i in range(len(archs))]})


def job_space(name: str) -> SearchSpace:
    """The space a training job names: a registered one, or one with switched-off ops (``<name>+none``)."""
    from nasaudit.analysis.arch_sets import with_disabled_ops
    from nasaudit.spaces import get_space

    if name.endswith(DISABLED_SUFFIX):
        return with_disabled_ops(get_space(name.removesuffix(DISABLED_SUFFIX)))
    return get_space(name)


def job_setup(job: TrainJob) -> tuple[SearchSpace, Any, TrainProtocol, dict[str, Any]]:
    """A job's space, architecture, protocol (with its overrides) and macro-network options."""
    from nasaudit.train.protocols import TrainProtocol, get_protocol

    space = job_space(job.space)
    options = {k: v for k, v in job.options.items() if k != PER_EPOCH_TEST}
    overrides = {k: options.pop(k) for k in list(options) if k in TrainProtocol.__dataclass_fields__}
    protocol = get_protocol(job.protocol)
    return space, space.parse(job.arch), protocol.with_overrides(**overrides) if overrides else protocol, options


def train_set_job(job: TrainJob) -> JobResult:
    """Train one member of a set from scratch with ``train_arch``, the test split scored after every epoch
    (architectures paper Sec. 4.1), checkpointing into the job's ``checkpoint_dir`` (its final weights)."""
    from nasaudit.train import train_arch

    space, arch, protocol, macro = job_setup(job)
    runtime = {k: str(v) for k, v in job.runtime.items() if v is not None}
    folder = runtime.get("checkpoint_dir")
    result = train_arch(space, arch, protocol=protocol, dataset=job.dataset, seed=job.seed,
                        data_root=runtime.get("data_root"), device=runtime.get("device"),
                        checkpoint_dir=Path(folder) if folder else None, progress=False, test_each_epoch=True, **macro)
    metrics = {"val_acc": result.final_val_acc, "test_acc": result.test_acc, "test_loss": result.test_loss,
               "params": result.params, "flops": result.flops, "train_seconds": result.wall_time_s}
    curves = {name: [getattr(record, name) for record in result.history]
              for name in ("epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc",
                           "seconds")}
    return JobResult(metrics=metrics, curves=curves)


@dataclass(frozen=True)
class TrainedSets:
    """The trained sets: ``members`` (one row per set member), ``runs`` (one per member, seed and learning
    rate, with final metrics and the ``job``), ``history`` (one per run and epoch)."""

    sets: list[ArchSet]
    members: pd.DataFrame
    runs: pd.DataFrame
    history: pd.DataFrame


def train_sets(context: StudyContext, spec: TrainedSetsSpec) -> TrainedSets:
    """Build every set and train each (member, seed, learning rate) through the executor and the store."""
    import pandas as pd

    from nasaudit.jobs.executors import run_jobs
    from nasaudit.train.protocols import get_protocol
    from nasaudit.truth.builder import TrainJob

    sets = [build_set(context, spec, s) for s in spec.sets]
    protocol = get_protocol(spec.protocol)
    lrs: list[float | None] = list(spec.lrs) if spec.lrs else [None]
    runtime = {"data_root": str(context.resolve(spec.data_root)) if spec.data_root else None, "device": spec.device}
    members, rows = [], []
    for arch_set in sets:
        multi = len(sets) > 1
        for arch, info in zip(arch_set.archs, arch_set.table.to_dict("records"), strict=True):
            member = {"set": arch_set.name, "curve_set": f"{arch_set.name}:{info['group']}" if multi
                      else str(info["group"]), **info}
            members.append(member)
            for lr in lrs:
                options: dict[str, OptionValue] = {PER_EPOCH_TEST: True, **spec.macro}
                if spec.epochs is not None:
                    options["epochs"] = spec.epochs
                if lr is not None:
                    options["lr"] = lr
                for seed in spec.seeds:
                    job = TrainJob(space=arch_set.space.name, arch=arch_set.space.format(arch),
                                   canonical=arch_set.space.canonical(arch), protocol=spec.protocol,
                                   dataset=spec.dataset, seed=seed, options=freeze_options(options))
                    folder = context.work_dir("runs", job.job_id)
                    job = replace(job, runtime=freeze_options({**runtime, "checkpoint_dir": str(folder)}))
                    rows.append({"set": arch_set.name, "label": info["label"], "group": info["group"],
                                 "pair": info["pair"], "curve_set": member["curve_set"], "seed": seed,
                                 "lr": protocol.lr if lr is None else lr, "job": job})
    jobs = [row["job"] for row in rows]
    summary = run_jobs(jobs, train_set_job, context.store, context.executor(), progress=context.progress,
                       description="train sets", console=context.console)
    if not summary.complete:
        raise TrainingError(f"training the architecture sets: {summary}")
    done = context.store.runs(status="done", job_ids=[job.job_id for job in jobs], include_curves=True)
    metrics_of: dict[str, dict[str, Any]] = dict(zip(done["job_id"], done["metrics"], strict=True))
    curves_of: dict[str, dict[str, list[float]]] = dict(zip(done["job_id"], done["curves"], strict=True))
    runs = pd.DataFrame(rows)
    runs["job_id"] = [job.job_id for job in jobs]
    metrics = pd.DataFrame([metrics_of[i] for i in runs["job_id"]])
    runs = pd.concat([runs, metrics[["test_acc", "test_loss", "params", "train_seconds"]]], axis=1)
    history = _history(runs, curves_of)
    return TrainedSets(sets, pd.DataFrame(members), runs, history)


def _history(runs: pd.DataFrame, curves_of: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    import pandas as pd

    frames = []
    for run in runs.to_dict("records"):
        curves = pd.DataFrame(curves_of[run["job_id"]])
        frames.append(curves.assign(set=run["curve_set"], arch=f"{run['set']}/{run['label']}", seed=run["seed"],
                                    lr=run["lr"]))
    return pd.concat(frames, ignore_index=True)


def load_trained_model(job: TrainJob, num_classes: int, in_channels: int) -> nn.Module:
    """The network of a finished job with its final weights (the last checkpoint of its ``checkpoint_dir``);
    a missing checkpoint (the store came from elsewhere) is rebuilt by training again, which gives the same
    weights for the same seed."""

    from nasaudit.nn.networks import build_network
    from nasaudit.train.checkpoint import CHECKPOINT_NAME, read_state, restoring

    folder = Path(str(dict(job.runtime)["checkpoint_dir"]))
    if not (folder / CHECKPOINT_NAME).is_file():
        train_set_job(job)
    space, arch, protocol, macro = job_setup(job)
    model = build_network(arch, space, num_classes=num_classes, in_channels=in_channels,
                          **{**protocol.macro.get(space.family, {}), **macro})
    state = read_state(folder / CHECKPOINT_NAME)
    with restoring(folder / CHECKPOINT_NAME):
        model.load_state_dict(state["model"])
    return model


# ------------------------------------------------------------------ summaries and tests
def per_arch_summary(trained: TrainedSets, fraction: float) -> pd.DataFrame:
    """Per (set, member, learning rate): final test accuracy mean/std over seeds and convergence speed."""
    import pandas as pd

    from nasaudit.dynamics.convergence import convergence_summary

    speed = pd.concat([convergence_summary(part, "test_acc", fraction).assign(lr=lr)
                       for lr, part in trained.history.groupby("lr", sort=True)], ignore_index=True)
    speed["key"] = speed["arch"]
    runs = trained.runs.assign(key=trained.runs["set"] + "/" + trained.runs["label"])
    runs = runs.merge(speed[["key", "seed", "lr", "epochs_to_fraction", "auc_mean"]], on=["key", "seed", "lr"])
    keys = ["set", "label", "group", "lr"]
    table = runs.groupby(keys, sort=False).agg(
        seeds=("seed", "nunique"), test_acc_mean=("test_acc", "mean"), test_acc_std=("test_acc", "std"),
        epochs_to_fraction=("epochs_to_fraction", "mean"), auc_mean=("auc_mean", "mean"),
        params=("params", "first"), train_seconds=("train_seconds", "mean")).reset_index()
    arch_of = trained.members.set_index(["set", "label"])["arch"]
    table["arch"] = [arch_of[(s, lab)] for s, lab in zip(table["set"], table["label"], strict=True)]
    return table


def training_settings(context: StudyContext, spec: TrainedSetsSpec, trained: TrainedSets) -> dict[str, Any]:
    """The settings a trained-sets study reports."""
    return {"seed": context.seed, "space": context.space.name, "protocol": spec.protocol,
            "dataset": spec.dataset, "seeds": ", ".join(map(str, spec.seeds)),
            "epochs": spec.epochs or "protocol", "learning rates": ", ".join(f"{lr:g}" for lr in
                                                                            trained.runs["lr"].unique()),
            "macro": ", ".join(f"{k}={v}" for k, v in spec.macro.items()) or "protocol",
            "architectures": len(trained.members), "training runs": len(trained.runs)}


def convergence_plots(trained: TrainedSets) -> list[Plot]:
    """Per-epoch curves overlaid per group, one figure per set and learning rate (Figs. 3-5)."""
    from nasaudit.report.figures_dynamics import plot_convergence

    plots = []
    lrs = sorted(trained.history["lr"].unique())
    for set_name in dict.fromkeys(trained.runs["set"]):
        for lr in lrs:
            part = trained.history[(trained.history["arch"].str.startswith(f"{set_name}/"))
                                   & (trained.history["lr"] == lr)]
            suffix = f"_lr{lr:g}" if len(lrs) > 1 else ""
            plots.append(Plot(f"convergence_{set_name}{suffix}.png",
                              f"Convergence of set {set_name}" + (f" at learning rate {lr:g}" if len(lrs) > 1 else "")
                              + ": thin lines per run, thick per group mean",
                              partial(plot_convergence, part, metrics=("train_loss", "test_loss", "test_acc"),
                                      log_loss=True)))
    return plots
