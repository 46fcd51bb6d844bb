"""``nasaudit analyze``: search-space analyses over a benchmark table, writing tidy CSVs and PNGs to ``--out``.

Scores come from a benchmark table (``--table``; e.g. the NB201 CSV) or, with ``--surrogate``, from a
regression model fit on the table's rows (redundancy paper App. F), which also scores architectures the
table lacks (e.g. a sampled DARTS table). ``--dataset`` may be repeated to run one analysis per dataset.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console

from nasaudit.analysis.cell_shape import random_connection_variants, random_operation_variants, shape_table
from nasaudit.analysis.importance import (
    IMPORTANCE_THRESHOLD,
    importance_agreement,
    importance_counts,
    operation_importance,
)
from nasaudit.analysis.op_usage import NO_MASK, op_usage
from nasaudit.analysis.primskip import group_summary, minimal_primskip_edit, optimum_vs_groups, primskip_study
from nasaudit.analysis.published import REPORTED_SHAPES, published_genotype, published_names
from nasaudit.analysis.ranking import top_fraction
from nasaudit.analysis.subgraphs import MIN_SUPPORT, important_subgraphs, mine_frequent_subgraphs
from nasaudit.benchmarks.surrogate import SurrogateBenchmark, holdout_spearman
from nasaudit.benchmarks.tabular import TabularBenchmark
from nasaudit.errors import ConfigError
from nasaudit.evaluators import Evaluator
from nasaudit.spaces.darts import DartsSpace

app = typer.Typer(help="Search-space analyses: operation importance, subgraphs, PrimSkip, op usage, cell shape.",
                  no_args_is_help=True)
_out = Console()

TableOption = typer.Option(..., "--table", "-t", help="Benchmark table (CSV or parquet) of architectures and scores.")
OutOption = typer.Option(..., "--out", "-o", help="Folder for the CSV tables and PNG figures.")
SpaceOption = typer.Option("nb201", "--space", help="Registered space of the table's architectures.")
ArchColumnOption = typer.Option("ArchitectureString", "--arch-column", help="Column holding the architectures.")
MetricOption = typer.Option("test_acc", "--metric", help="Metric column, or an alias such as test_acc.")
DatasetOption = typer.Option(None, "--dataset", "-d",
                             help="Dataset of the metric alias (repeatable), e.g. cifar10, cifar100, imagenet16-120.")
UnitsOption = typer.Option("percent", "--units", help="Scale of the scores: 'percent' or 'fraction' (0-1).")
SurrogateOption = typer.Option(None, "--surrogate",
                               help="Score through a surrogate fit on the table: 'gbt' or 'ensemble' (App. F).")
SurrogateSamplesOption = typer.Option(None, "--surrogate-samples", min=2,
                                      help="Fit the surrogate on this many random table rows (default: all).")
SeedOption = typer.Option(0, "--seed", min=0, help="Seed of every random choice.")
TopOption = typer.Option(0.05, "--top", min=0.0, max=1.0, help="Fraction of best architectures to analyse.")
ThresholdOption = typer.Option(IMPORTANCE_THRESHOLD, "--threshold", min=0.0,
                               help="|OI| at or above this (0-1 accuracy scale) marks an important operation.")


def _figures() -> ModuleType:
    """The figure module, imported on first use so that other ``nasaudit`` commands start without matplotlib."""
    return importlib.import_module("nasaudit.report.figures_analysis")


def _say(text: str) -> None:
    _out.print(text, highlight=False, soft_wrap=True, markup=False)


def _scored(table: Path, space: str, arch_column: str, metric: str, datasets: list[str] | None,
            ) -> Iterator[tuple[str, TabularBenchmark, str]]:
    """(label, benchmark, column) for each requested dataset; notes when test accuracy stands in."""
    benchmark = TabularBenchmark.from_file(table, space=space, arch_column=arch_column)
    for dataset in datasets or [None]:
        column = benchmark.column(metric, dataset)
        label = dataset or column
        if "test" in column.lower():
            _say(f"[{label}] scores: column {column!r} (test accuracy, used where the papers use validation "
                 "accuracy; the table has none)")
        yield label, benchmark, column


def _evaluator(benchmark: TabularBenchmark, column: str, surrogate: str | None, samples: int | None,
               seed: int, label: str) -> Evaluator:
    if surrogate is None:
        return benchmark.evaluator(column)
    archs, scores = benchmark.archs(), benchmark.scores(column)
    if samples is not None:
        rows = np.random.default_rng(seed).choice(len(archs), size=min(samples, len(archs)), replace=False)
        archs, scores = [archs[i] for i in rows], scores[rows]
    model = SurrogateBenchmark(benchmark.space, model=surrogate, seed=seed).fit(archs, scores)
    _say(f"[{label}] surrogate {model!r} fit on {len(archs)} architectures")
    return model


def _write(frame: pd.DataFrame, out: Path, name: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    frame.to_csv(path, index=False)
    return path


def _slug(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label)


def _importance(benchmark: TabularBenchmark, column: str, evaluator: Evaluator, top: float, units: str,
                threshold: float) -> pd.DataFrame:
    archs, _ = top_fraction(benchmark.archs(), benchmark.scores(column), top)
    return operation_importance(evaluator, archs, units=units, threshold=threshold)


@app.command("importance")
def importance_command(
    table: Path = TableOption, out: Path = OutOption, space: str = SpaceOption, arch_column: str = ArchColumnOption,
    metric: str = MetricOption, dataset: list[str] | None = DatasetOption, units: str = UnitsOption,
    top: float = TopOption, threshold: float = ThresholdOption, surrogate: str | None = SurrogateOption,
    surrogate_samples: int | None = SurrogateSamplesOption, seed: int = SeedOption,
) -> None:
    """Operation importance of the top architectures (redundancy paper Sec. 3, Fig. 3 and 4)."""
    for label, benchmark, column in _scored(table, space, arch_column, metric, dataset):
        evaluator = _evaluator(benchmark, column, surrogate, surrogate_samples, seed, label)
        oi = _importance(benchmark, column, evaluator, top, units, threshold)
        counts = importance_counts(oi)
        slug = _slug(label)
        _write(oi.assign(score_column=column), out, f"importance_{slug}.csv")
        _write(counts, out, f"importance_counts_{slug}.csv")
        _figures().plot_operation_counts(oi, out / f"importance_counts_{slug}.png")
        _figures().plot_importance_boxes(oi, out / f"importance_boxes_{slug}.png", threshold)
        _say(f"[{label}] {len(oi):,} operations of {oi['arch'].nunique():,} architectures, "
             f"{int(oi['important'].sum()):,} important")
        _say(counts.to_string(index=False))
    _say(f"wrote importance tables and figures to {out}")


@app.command("subgraphs")
def subgraphs_command(
    table: Path = TableOption, out: Path = OutOption, space: str = SpaceOption, arch_column: str = ArchColumnOption,
    metric: str = MetricOption, dataset: list[str] | None = DatasetOption, units: str = UnitsOption,
    top: float = TopOption, threshold: float = ThresholdOption, surrogate: str | None = SurrogateOption,
    surrogate_samples: int | None = SurrogateSamplesOption, seed: int = SeedOption,
    min_support: float = typer.Option(MIN_SUPPORT, "--min-support", min=0.0, max=1.0, help="Minimum support."),
    n_random: int = typer.Option(10, "--n-random", min=1, help="Random reference subgraphs per cell (App. I)."),
    cell: str | None = typer.Option(None, "--cell", help="Cell to mine in two-cell spaces (default normal)."),
    plot_top: int = typer.Option(15, "--plot-top", min=1, help="How many subgraphs to draw."),
) -> None:
    """Frequent subgraphs of the important operations, ranked by support ratio (redundancy paper Fig. 7, App. I)."""
    for label, benchmark, column in _scored(table, space, arch_column, metric, dataset):
        evaluator = _evaluator(benchmark, column, surrogate, surrogate_samples, seed, label)
        oi = _importance(benchmark, column, evaluator, top, units, threshold)
        important, full = important_subgraphs(benchmark.space, oi, cell)
        mined = mine_frequent_subgraphs(important, full, min_support=min_support, n_random=n_random, seed=seed)
        slug = _slug(label)
        _write(mined, out, f"subgraphs_{slug}.csv")
        if len(mined):
            _figures().plot_subgraphs(mined, out / f"subgraphs_{slug}.png", top=plot_top)
        _say(f"[{label}] {len(mined)} frequent subgraphs in {len(important):,} important subgraphs")
        _say(mined.head(plot_top).to_string(index=False))
    _say(f"wrote subgraph tables and figures to {out}")


@app.command("surrogate")
def surrogate_command(
    table: Path = TableOption, out: Path = OutOption, space: str = SpaceOption, arch_column: str = ArchColumnOption,
    metric: str = MetricOption, dataset: list[str] | None = DatasetOption, units: str = UnitsOption,
    top: float = TopOption, threshold: float = ThresholdOption, seed: int = SeedOption,
    model: str = typer.Option("gbt", "--model", help="Surrogate model: 'gbt' or 'ensemble'."),
    encoding: str = typer.Option("auto", "--encoding", help="Encoding: auto, path, adjacency or onehot."),
    samples: int = typer.Option(200, "--samples", min=2, help="Random training architectures (App. F: 200)."),
    test: int = typer.Option(200, "--test", min=2, help="Fresh random architectures for the held-out Spearman."),
) -> None:
    """Fit a surrogate on random table architectures; held-out Spearman and OI agreement with the table (App. F)."""
    rows = []
    for label, benchmark, column in _scored(table, space, arch_column, metric, dataset):
        truth = benchmark.evaluator(column)
        fitted = SurrogateBenchmark.from_samples(truth, n=samples, seed=seed, model=model, encoding=encoding)
        spearman = holdout_spearman(fitted, truth, n=test, seed=seed + 1)
        reference = _importance(benchmark, column, truth, top, units, threshold)
        through_model = _importance(benchmark, column, fitted, top, units, threshold)
        agreement = importance_agreement(reference, through_model)
        rows.append({"dataset": label, "model": model, "encoding": fitted.encoder.name, "train_samples": samples,
                     "test_samples": test, "holdout_spearman": spearman,
                     **{f"oi_{key}": value for key, value in agreement.items()}})
        _say(f"[{label}] {fitted!r}: held-out Spearman {spearman:.3f}; OI vs table: Spearman "
             f"{agreement['spearman']:.3f}, important-flag agreement {agreement['important_agreement']:.3f}")
    _write(pd.DataFrame(rows), out, "surrogate.csv")
    _say(f"wrote surrogate evaluation to {out}")


@app.command("primskip")
def primskip_command(
    table: Path = TableOption, out: Path = OutOption, space: str = SpaceOption, arch_column: str = ArchColumnOption,
    metric: str = MetricOption, dataset: list[str] | None = DatasetOption, seed: int = SeedOption,
    n_per_group: int = typer.Option(50, "--n-per-group", min=1, help="Samples per group (App. D: 50)."),
    surrogate: str | None = SurrogateOption, surrogate_samples: int | None = SurrogateSamplesOption,
) -> None:
    """Score the random / Skip / Prim / PrimSkip groups and locate the optimum (Fig. 10, Fig. 16)."""
    for label, benchmark, column in _scored(table, space, arch_column, metric, dataset):
        evaluator = _evaluator(benchmark, column, surrogate, surrogate_samples, seed, label)
        study = primskip_study(evaluator, n_per_group=n_per_group, seed=seed)
        slug = _slug(label)
        _write(study.assign(score_column=column), out, f"primskip_{slug}.csv")
        summary = _write(group_summary(study), out, f"primskip_summary_{slug}.csv")
        located = optimum_vs_groups(benchmark.space, benchmark.archs(), benchmark.scores(column), study)
        _write(located, out, f"primskip_optimum_{slug}.csv")
        _figures().plot_primskip(study, out / f"primskip_{slug}.png", optimum=float(located["optimum_score"].iloc[0]),
                              score_label=column)
        _say(pd.read_csv(summary).to_string(index=False))
        best = located.iloc[0]
        member = located.set_index("group")["optimum_in_group"].get("primskip", False)
        _say(f"[{label}] table optimum {best['optimum']} scores {best['optimum_score']:.2f}; "
             f"{'inside' if member else 'outside'} the PrimSkip group")
    _say(f"wrote PrimSkip tables and figures to {out}")


@app.command("primskip-edit")
def primskip_edit_command(
    genotypes: list[str] = typer.Argument(None, help="DARTS genotype strings to edit."),
    published: bool = typer.Option(False, "--published", help="Also edit the published genotypes shipped here."),
    out: Path = OutOption,
) -> None:
    """The minimal edit making DARTS genotypes PrimSkip-compliant, with its edit distance (Table 2a)."""
    named = _named_genotypes(genotypes, published)
    rows = []
    for name, genotype in named.items():
        edit = minimal_primskip_edit(genotype)
        rows.append({"name": name, "edit_distance": edit.distance, "changes": "; ".join(edit.changes),
                     "original": str(edit.original), "edited": str(edit.edited)})
    frame = pd.DataFrame(rows)
    _write(frame, out, "primskip_edit.csv")
    _say(frame[["name", "edit_distance", "changes"]].to_string(index=False))


@app.command("op-usage")
def op_usage_command(
    table: Path = TableOption, out: Path = OutOption, space: str = SpaceOption, arch_column: str = ArchColumnOption,
    metric: str = MetricOption, dataset: list[str] | None = DatasetOption,
) -> None:
    """How many of the ground-truth top-N use each op, with each op masked once (single-path paper Fig. 3)."""
    for label, benchmark, column in _scored(table, space, arch_column, metric, dataset):
        usage = op_usage(benchmark.space, benchmark.archs(), benchmark.scores(column))
        slug = _slug(label)
        _write(usage, out, f"op_usage_{slug}.csv")
        _figures().plot_op_usage(usage, out / f"op_usage_{slug}.png")
        unmasked = usage[usage["mask"] == NO_MASK].pivot(index="top_n", columns="op", values="usage")
        _say(f"[{label}] fraction of the top-N using each op (no mask):")
        _say(unmasked.round(3).to_string())
    _say(f"wrote op-usage tables and figures to {out}")


@app.command("cell-shape")
def cell_shape_command(
    genotypes: list[str] = typer.Argument(None, help="DARTS genotype strings."),
    published: bool = typer.Option(False, "--published", help="Also measure the published cells shipped here."),
    out: Path = OutOption,
    cell: str = typer.Option("normal", "--cell", help="Which cell of each genotype: normal or reduce."),
    variants: int = typer.Option(0, "--variants", min=0, help="Random variants of each cell (App. A.2)."),
    kind: str = typer.Option("connection", "--kind", help="Variant kind: 'connection' or 'operation'."),
    seed: int = SeedOption,
) -> None:
    """Cell width and depth (architectures paper Sec. 3.2), optionally of random variants (App. A.2)."""
    if kind not in ("connection", "operation"):
        raise ConfigError(f"--kind must be 'connection' or 'operation', got {kind!r}")
    named = _named_genotypes(genotypes, published)
    shapes = shape_table(named, cell)
    shapes["reported"] = [_reported(name) if cell == "normal" else "" for name in shapes["name"]]
    _write(shapes, out, "cell_shape.csv")
    _say(shapes[["name", "width", "depth", "reported"]].to_string(index=False))
    if variants:
        frames = []
        for name, genotype in named.items():
            base = genotype.cell(cell)
            drawn = (random_connection_variants(base, variants, seed) if kind == "connection"
                     else random_operation_variants(base, variants, seed))
            table = shape_table({name: base, **{f"{name}/C{i + 1}": v for i, v in enumerate(drawn)}})
            frames.append(table.assign(base=name))
        variant_table = pd.concat(frames, ignore_index=True)
        _write(variant_table, out, "cell_variants.csv")
        _figures().plot_cell_shapes(variant_table, out / "cell_variants.png")
    _figures().plot_cell_shapes(shapes, out / "cell_shape.png")
    _say(f"wrote cell-shape tables and figures to {out}")


def _named_genotypes(genotypes: list[str] | None, published: bool) -> dict[str, Any]:
    space = DartsSpace()
    named: dict[str, Any] = {f"genotype_{i + 1}": space.parse(text) for i, text in enumerate(genotypes or [])}
    if published:
        named.update({name: published_genotype(name) for name in published_names()})
    if not named:
        raise ConfigError("give at least one genotype string, or --published")
    return named


def _reported(name: str) -> str:
    width_depth = REPORTED_SHAPES.get(name)
    return "" if width_depth is None else f"{width_depth[0]:g}c, {width_depth[1]}"
