"""``nasaudit compare``: the fair comparison of search strategies on a benchmark table (search-phase paper Sec. 3.1)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from nasaudit.benchmarks import TabularBenchmark
from nasaudit.report.figures_search import plot_best_so_far
from nasaudit.search import run_comparison, summarise

_out = Console()


def compare_command(
    benchmark: Path = typer.Option(..., "--benchmark", "-b", help="Benchmark table (CSV or parquet)."),
    metric: str = typer.Option(..., "--metric", "-m", help="Metric column to maximise, or an alias with --dataset."),
    space: str = typer.Option("nb201", "--space", help="Registered search space of the table."),
    dataset: str | None = typer.Option(None, "--dataset", help="Dataset of a metric alias, e.g. cifar10."),
    arch_column: str = typer.Option("ArchitectureString", "--arch-column", help="Column of architecture strings."),
    strategies: str = typer.Option("random,evolution,local,bananas", "--strategies", "-s",
                                   help="Comma-separated strategy names."),
    budget: int = typer.Option(100, "--budget", min=1, help="Queries per run."),
    seeds: int = typer.Option(100, "--seeds", min=1, help="Runs per strategy (seeds 0..N-1 plus --first-seed)."),
    first_seed: int = typer.Option(0, "--first-seed", min=0, help="Seed of the first run."),
    deisomorphise: bool = typer.Option(False, "--deisomorphise",
                                       help="Rank final architectures among one representative per class."),
    out: Path = typer.Option(Path("compare-results"), "--out", "-o", help="Output directory."),
) -> None:
    """Run strategies for many seeds at one budget; write summary.csv, trajectories.csv and best_so_far.png."""
    table = TabularBenchmark.from_file(benchmark, space, arch_column)
    column = table.column(metric, dataset)
    names = [name.strip() for name in strategies.split(",") if name.strip()]
    started = time.perf_counter()
    comparison = run_comparison(table.space, table.evaluator(column), names, budget,
                                range(first_seed, first_seed + seeds))
    elapsed = time.perf_counter() - started
    reference = table.deisomorphised() if deisomorphise else table
    summary = summarise(comparison, table.evaluator(column), reference.scores(column))
    out.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out / "summary.csv", index=False)
    comparison.trajectories().to_csv(out / "trajectories.csv", index=False)
    figure = plot_best_so_far(comparison.curves(), out / "best_so_far.png", ylabel=f"best {column} so far",
                              title=f"{len(comparison.seeds)} seeds, {budget} queries")
    _print_summary(summary, f"{column}: {len(reference):,} ranked architectures, {elapsed:.1f} s of search")
    _out.print(f"wrote {out / 'summary.csv'}, {out / 'trajectories.csv'} and {figure}", highlight=False)


def _print_summary(summary: pd.DataFrame, title: str) -> None:
    """One column per strategy, one row per statistic (fits a narrow terminal)."""
    table = Table("", *summary["strategy"], title=title)
    for column in summary.columns.drop("strategy"):
        table.add_row(column, *[f"{v:.4g}" if isinstance(v, float) else str(v) for v in summary[column].tolist()])
    _out.print(table)
