"""``nasaudit compare``: the fair comparison of search strategies (search-phase paper Sec. 3.1) as a one-study
spec run by the audit runner."""

from __future__ import annotations

from pathlib import Path

import typer

from nasaudit.cli._study import (
    ArchColumnOption,
    OpsOption,
    OutOption,
    SeedOption,
    SpaceOption,
    TableOption,
    run_studies,
    split_names,
    table_evaluators,
)


def compare_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    metric: str = typer.Option(..., "--metric", "-m", help="Metric column to maximise, or an alias with --dataset."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Dataset of a metric alias, e.g. cifar10."),
    arch_column: str = ArchColumnOption,
    strategies: str = typer.Option("random,evolution,local,bananas", "--strategies", "-s",
                                   help="Comma-separated strategy names."),
    budget: int = typer.Option(100, "--budget", min=1, help="Queries per run."),
    seeds: int = typer.Option(100, "--seeds", min=1, help="Runs per strategy, seeds --seed .. --seed+N-1."),
    seed: int = SeedOption,
    deisomorphise: bool = typer.Option(False, "--deisomorphise",
                                       help="Rank final architectures among one representative per class."),
) -> None:
    """Run strategies for many seeds at one budget; summary, trajectories, best-so-far figure and report."""
    evaluators = table_evaluators(table, metric, [dataset] if dataset else None, arch_column)
    name = next(iter(evaluators))
    run_studies("compare", [{"kind": "compare", "evaluator": name, "strategies": split_names(strategies),
                             "budget": budget, "seeds": seeds, "deisomorphise": deisomorphise}],
                out=out, seed=seed, space=space, ops=ops, evaluators=evaluators)
