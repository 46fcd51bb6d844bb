"""``nasaudit compare``: the fair comparison of search strategies (search-phase paper Sec. 3.1) as a one-study
spec run by the audit runner."""

from __future__ import annotations

from pathlib import Path

import typer

from nasaudit.cli._spec_options import SetOption, spec_option
from nasaudit.cli._study import (
    AddressOption,
    ArchColumnOption,
    ExecutorOption,
    OpsOption,
    OutOption,
    PluginOption,
    SeedOption,
    SpaceOption,
    TableOption,
    WorkersOption,
    run_studies,
    split_names,
    table_evaluators,
)


def compare_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    metric: str = typer.Option(..., "--metric", "-m", help="Metric column to maximise, or an alias with --dataset."),
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Dataset of a metric alias, e.g. cifar10."),
    arch_column: str = ArchColumnOption,
    strategies: str = spec_option(
        "strategies", "--strategies", "-s",
        help="Comma-separated names of query-based strategies and weight-sharing methods, a plugin's included "
             "(docs/plugins.md); an unknown name is an error listing every registered one."),
    budget: int = spec_option("budget", "--budget", min=1, help="Queries per run."),
    seeds: int = spec_option("seeds", "--seeds", min=1, help="Runs per strategy, seeds --seed .. --seed+N-1."),
    seed: int = SeedOption,
    deisomorphise: bool = spec_option("deisomorphise", "--deisomorphise",
                                      help="Rank final architectures among one representative per class."),
    within_truth: bool = spec_option("within_truth", "--within-truth",
                                     help="Search only the table's architectures (and their isomorphic twins)."),
    ws_dataset: str = spec_option("weight_sharing.dataset", "--ws-dataset",
                                  help="Dataset the weight-sharing supernets train on."),
    ws_data_root: str | None = spec_option("weight_sharing.data_root", "--ws-data-root",
                                           help="Folder of --ws-dataset's files."),
    ws_preset: str = spec_option("weight_sharing.preset", "--ws-preset", help="tiny (CPU-sized supernets) or paper."),
    ws_epochs: int = spec_option("weight_sharing.epochs", "--ws-epochs", min=1,
                                 help="Supernet epochs of every weight-sharing method."),
    ws_channels: int | None = spec_option("weight_sharing.channels", "--ws-channels", min=1,
                                          help="Supernet width of every weight-sharing method (default: preset's)."),
    ws_depth: int | None = spec_option("weight_sharing.depth", "--ws-depth", min=1,
                                       help="Supernet depth (NB201: cells per stage; DARTS: cells) of every method."),
    ws_batch_size: int | None = spec_option("weight_sharing.batch_size", "--ws-batch-size", min=1,
                                            help="Supernet batch size of every method (default: the preset's)."),
    ws_device: str | None = spec_option("weight_sharing.device", "--ws-device",
                                        help="Device of the supernets (default: cuda if any)."),
    executor: str = ExecutorOption, workers: int = WorkersOption, address: str | None = AddressOption,
    search_evaluator: str | None = typer.Option(
        None, "--search-evaluator", help="An evaluator kind (a plugin's, e.g. a zero-cost proxy) the query-based "
                                         "strategies search with, at its default settings; the table stays the truth "
                                         "that scores their final architectures."),
    surrogate: str | None = typer.Option(
        None, "--surrogate", help="A predictor (gp, gbt, rf, bananas, a plugin's) fitted on the table's "
                                  "architectures that scores every cell instead of the table, as search evaluator "
                                  "and truth: for a space larger than the table (e.g. --space rnn)."),
    surrogate_samples: int | None = typer.Option(
        None, "--surrogate-samples", min=10, help="Table architectures the --surrogate is fitted on (default 200)."),
    set_values: list[str] | None = SetOption,
    plugin: list[str] | None = PluginOption,
) -> None:
    """Run strategies and weight-sharing methods for many seeds; joint summary, trajectories, rank disorder and
    the with/without weight-sharing rows in the report. Weight-sharing seeds run as resumable jobs on the
    executor: a rerun trains only the seeds not yet finished. Each method's own settings (e.g.
    weight_sharing.methods.spos_evolution.evolution_budget) and the rest of the spec are reached with --set."""
    evaluators = table_evaluators(table, metric, [dataset] if dataset else None, arch_column)
    name = truth = next(iter(evaluators))
    if surrogate is not None:
        name = truth = "surrogate" if "surrogate" not in evaluators else "surrogate_evaluator"
        fitted = {"kind": "surrogate", "fit_on": next(iter(evaluators)), "model": surrogate}
        evaluators[truth] = fitted if surrogate_samples is None else {**fitted, "samples": surrogate_samples}
    if search_evaluator is not None:
        name = "search" if "search" not in evaluators else "search_evaluator"
        evaluators[name] = {"kind": search_evaluator}
    settings = {"dataset": ws_dataset, "data_root": ws_data_root, "preset": ws_preset, "epochs": ws_epochs,
                "channels": ws_channels, "depth": ws_depth, "batch_size": ws_batch_size, "device": ws_device}
    run_studies("compare", [{"kind": "compare", "evaluator": name, "truth": truth if name != truth else None,
                             "strategies": split_names(strategies),
                             "budget": budget, "seeds": seeds, "deisomorphise": deisomorphise,
                             "within_truth": within_truth, "weight_sharing": settings}],
                out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                executor={"kind": executor, "workers": workers, "address": address}, settings=set_values)
