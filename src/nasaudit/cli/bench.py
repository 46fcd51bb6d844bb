"""``nasaudit bench``: build your own tabular benchmark (train, resume, export, inspect)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from nasaudit.jobs import DEFAULT_STORE, EXECUTOR_KINDS
from nasaudit.jobs.job import OptionValue
from nasaudit.limits import MAX_SAMPLES, MAX_SEED, MAX_WORKERS

app = typer.Typer(help="Build your own tabular benchmark: train, resume, export, status.", no_args_is_help=True)
_out = Console()

StoreOption = typer.Option(DEFAULT_STORE, "--store", help="Results store: a SQLite file or a SQLAlchemy URL.")
NameArgument = typer.Argument(..., help="Name of the build, saved in the store (rerun the same name to resume).")


def _split(text: str | None) -> tuple[str, ...] | None:
    return tuple(part.strip() for part in text.split(",") if part.strip()) if text else None


def _options(pairs: list[str]) -> dict[str, OptionValue]:
    """``key=value`` pairs; values are read as JSON where they parse (8 -> int, true -> bool), else text."""
    from nasaudit.errors import ConfigError

    options: dict[str, OptionValue] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"option {pair!r} must look like key=value")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    return options


def _agreement_metric(space_name: str) -> str:
    """The metric whose seed-to-seed agreement an export reports: test accuracy, or for an RNN space (language
    models) ``test_score`` (minus the test NLL: the order of the test perplexities reversed)."""
    from nasaudit.spaces import get_space
    from nasaudit.train.arch import is_lm_space

    return "test_score" if is_lm_space(get_space(space_name)) else "test_acc"


@app.command("build")
def build_command(
    name: str = NameArgument,
    space: str = typer.Option("nb201", help="Registered search space."),
    ops: str | None = typer.Option(None, help="Comma-separated op subset (restricted space)."),
    unique: bool = typer.Option(False, "--unique", help="One architecture per canonical (equivalence) class."),
    sample: int | None = typer.Option(None, min=1, max=MAX_SAMPLES,
                                      help="Train a seeded sample of this many distinct archs."),
    sample_seed: int = typer.Option(0, min=0, max=MAX_SEED, help="Seed of the sample."),
    protocol: str = typer.Option("cpu_small", help="Training protocol (nasaudit.train)."),
    dataset: str = typer.Option("embedded", help="Dataset name."),
    seeds: int = typer.Option(2, min=1, max=1000, help="Number of training seeds S (seeds 0..S-1)."),
    option: list[str] = typer.Option([], "--option", "-O",
                                     help="Trainer option key=value, e.g. -O channels=8 -O epochs=1 (repeat)."),
    data_root: Path | None = typer.Option(None, help="Folder of the dataset files (not needed for embedded)."),
    store: str = StoreOption,
    executor: str = typer.Option("processes", help=f"One of {', '.join(EXECUTOR_KINDS)}."),
    workers: int = typer.Option(2, min=1, max=MAX_WORKERS, help="Local worker processes (or local Ray CPUs)."),
    ray_address: str | None = typer.Option(None, help="Ray cluster address; a local instance when omitted."),
    max_attempts: int = typer.Option(2, min=1, max=100, help="Attempts per run before it is reported failed."),
    fuse: int = typer.Option(8, min=1, max=64, help="Train up to this many seeds of one architecture at once (fused, "
                             "equal to separate runs); 1 trains each run on its own."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Export the table here when the build completes."),
    progress: bool = typer.Option(True, help="Show the progress bar."),
) -> None:
    """Train every (architecture, seed) of a space not yet in the store; rerun to resume."""
    from nasaudit.jobs.executors import make_executor
    from nasaudit.jobs.job import freeze_options
    from nasaudit.jobs.store import ResultStore
    from nasaudit.truth.builder import (
        BuildSpec,
        build_benchmark,
        export_benchmark,
        metadata_path,
    )

    spec = BuildSpec(space=space, ops=_split(ops), unique=unique, sample=sample, sample_seed=sample_seed,
                     protocol=protocol, dataset=dataset, seeds=tuple(range(seeds)),
                     options=freeze_options(_options(option)),
                     runtime=freeze_options({"data_root": str(data_root)} if data_root else None))
    with ResultStore(store) as results:
        summary = build_benchmark(name, spec, results, make_executor(executor, workers, ray_address),
                                  max_attempts=max_attempts, progress=progress, fuse=fuse)
        _out.print(str(summary), highlight=False)
        if not summary.complete:
            raise typer.Exit(1)
        if out is not None:
            table = export_benchmark(name, results, out, metric=_agreement_metric(space))
            _out.print(f"wrote {len(table):,} architectures to {out} (metadata {metadata_path(out)})",
                       highlight=False)


@app.command("export")
def export_command(
    name: str = NameArgument,
    out: Path = typer.Option(..., "--out", "-o", help="Table to write: .csv or .parquet (+ .meta.json)."),
    store: str = StoreOption,
    partial: bool = typer.Option(False, help="Leave out architectures that lack some seeds."),
    official: Path | None = typer.Option(None, "--official", help="Also write the benchmark's own format here: "
                                         "NB201 arch strings or DARTS/NB301 genotype strings with the metrics."),
) -> None:
    """Export a build as a table TabularBenchmark.from_file reads, with a metadata sidecar."""
    from nasaudit.jobs.store import ResultStore
    from nasaudit.truth.builder import BuildSpec, export_benchmark, metadata_path, read_metadata
    from nasaudit.truth.export import export_official
    from nasaudit.truth.tabular import TabularBenchmark

    with ResultStore(store) as results:
        spec = BuildSpec.from_dict(results.load_build(name)["spec"])
        table = export_benchmark(name, results, out, partial=partial, metric=_agreement_metric(spec.space))
        space = spec.make_space()
    if official is not None:
        written = export_official(TabularBenchmark.from_frame(table, space), official)
        _out.print(f"wrote the official format to {written}", highlight=False, markup=False)
    agreement = read_metadata(out).get("seed_agreement")
    _out.print(f"wrote {len(table):,} architectures to {out} (metadata {metadata_path(out)})", highlight=False)
    if agreement:
        _out.print(f"seed-to-seed Kendall tau {agreement['mean_tau']:.3f}; {agreement['metric']} "
                   f"{agreement['minimum']:.2f}..{agreement['maximum']:.2f} (std {agreement['std']:.2f})",
                   highlight=False)


@app.command("status")
def status_command(
    name: str | None = typer.Argument(None, help="A build name; all builds when omitted."),
    store: str = StoreOption,
) -> None:
    """Done / failed / missing runs of the builds in a store."""
    from rich.table import Table

    from nasaudit.jobs.store import ResultStore
    from nasaudit.truth.builder import build_progress

    with ResultStore(store) as results:
        names = [name] if name else results.build_names()
        table = Table("build", "runs", "done", "failed", "missing")
        for build in names:
            counts = build_progress(build, results)
            table.add_row(build, *(f"{counts[k]:,}" for k in ("total", "done", "failed", "missing")))
    _out.print(table)


@app.command("convert-nb101")
def convert_nb101_command(
    source: Path = typer.Argument(..., help="Official NAS-Bench-101 file: nasbench_full.tfrecord or nasbench_only108."),
    out: Path = typer.Argument(..., help="Table to write: .csv or .parquet (one row per cell, budget and repeat)."),
    progress: bool = typer.Option(True, help="Show the progress bar."),
) -> None:
    """Convert the official NB101 records (no TensorFlow needed; CRCs checked) into a table that the ``nb101``
    evaluator kind of a spec reads."""
    from nasaudit.truth.nb101_records import convert_nb101

    summary = convert_nb101(source, out, progress=progress)
    _out.print(f"read {summary.records:,} records of {summary.unique_cells:,} cells (budgets {summary.budgets}); "
               f"wrote {summary.rows:,} rows to {summary.path} in {summary.seconds:.1f} s; "
               f"{summary.hash_mismatches} module hashes differ from ours", highlight=False, markup=False)


@app.command("delete")
def delete_command(name: str = NameArgument, store: str = StoreOption) -> None:
    """Delete a build and the runs only it owns (runs another build shares are kept)."""
    from nasaudit.jobs.store import ResultStore
    from nasaudit.truth.builder import delete_build

    with ResultStore(store) as results:
        removed = delete_build(name, results)
    _out.print(f"deleted build {name!r} and {removed:,} of its runs", highlight=False, markup=False)
