"""``nasaudit analyze``: search-space studies over a benchmark table, each a one-study spec run by the runner.

``--dataset`` may be repeated to run the study once per dataset; ``--surrogate`` scores through a model fit
on the table (redundancy paper App. F), which also answers architectures the table lacks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from nasaudit.cli._spec_options import SetOption, spec_argument, spec_option, study_command
from nasaudit.cli._study import (
    AddressOption,
    ArchColumnOption,
    DatasetsOption,
    ExecutorOption,
    MetricOption,
    OpsOption,
    OutOption,
    PluginOption,
    SeedOption,
    SpaceOption,
    TableOption,
    WorkersOption,
    run_studies,
    split_ints,
    split_names,
    table_evaluators,
)

app = typer.Typer(help="Search-space studies: operation importance, subgraphs, PrimSkip, op usage, surrogate, "
                       "cell shape, zero-cost proxies, performance predictors, Pareto fronts.", no_args_is_help=True)

SurrogateOption = typer.Option(None, "--surrogate", help="Score through a surrogate fit on the table: a predictor "
                                "name (bananas or its alias ensemble, gbt, gp, rf, or a plugin's).")
SurrogateSamplesOption = typer.Option(200, "--surrogate-samples", min=10, help="Architectures the surrogate is fit on.")

TopOption = spec_option("top", "--top", min=0.0, max=1.0, help="Fraction of best architectures to analyse.")
ThresholdOption = spec_option("threshold", "--threshold", min=0.0,
                              help="|OI| at or above this (0-1 accuracy scale) marks an important operation.")

def _table_studies(kind: str, table: str, metric: str, datasets: list[str] | None, arch_column: str,
                   surrogate: str | None, surrogate_samples: int, **settings: Any) -> tuple[dict[str, Any], list]:
    evaluators = table_evaluators(table, metric, datasets, arch_column)
    studies = []
    for name in list(evaluators):
        scored_by = name
        if surrogate is not None:
            scored_by = f"{name}-{surrogate}"
            evaluators[scored_by] = {"kind": "surrogate", "fit_on": name, "model": surrogate,
                                     "samples": surrogate_samples}
        studies.append({"kind": kind, "evaluator": scored_by, **settings})
    return evaluators, studies


@app.command("importance", cls=study_command("importance"))
def importance_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    arch_column: str = ArchColumnOption, metric: str = MetricOption, dataset: list[str] | None = DatasetsOption,
    top: float = TopOption, threshold: float = ThresholdOption, surrogate: str | None = SurrogateOption,
    surrogate_samples: int = SurrogateSamplesOption, seed: int = SeedOption,
    set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Operation importance of the top architectures (redundancy paper Sec. 3, Fig. 3 and 4)."""
    evaluators, studies = _table_studies("importance", table, metric, dataset, arch_column, surrogate,
                                         surrogate_samples, top=top, threshold=threshold)
    run_studies("importance", studies, out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)


@app.command("subgraphs", cls=study_command("subgraphs"))
def subgraphs_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    arch_column: str = ArchColumnOption, metric: str = MetricOption, dataset: list[str] | None = DatasetsOption,
    top: float = TopOption,
    min_support: float = spec_option("min_support", "--min-support", min=0.0, max=1.0,
                                     help="Minimum support of a mined subgraph."),
    threshold: float = ThresholdOption, surrogate: str | None = SurrogateOption,
    surrogate_samples: int = SurrogateSamplesOption, seed: int = SeedOption,
    set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Frequent subgraphs of important operations (redundancy paper Fig. 7, Table 1, App. I)."""
    evaluators, studies = _table_studies("subgraphs", table, metric, dataset, arch_column, surrogate,
                                         surrogate_samples, top=top, min_support=min_support,
                                         threshold=threshold)
    run_studies("subgraphs", studies, out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)


@app.command("surrogate", cls=study_command("surrogate"))
def surrogate_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    arch_column: str = ArchColumnOption, metric: str = MetricOption, dataset: list[str] | None = DatasetsOption,
    top: float = TopOption, threshold: float = ThresholdOption, seed: int = SeedOption,
    model: str = spec_option("model", "--model", help="Surrogate model: a predictor name (bananas or its alias "
                                                                 "ensemble, gbt, gp, rf, or a plugin's)."),
    encoding: str = spec_option("encoding", "--encoding", help="Encoding: auto, path, adjacency or onehot."),
    samples: int = spec_option("samples", "--samples", min=10, help="Random training architectures (App. F: 200)."),
    test: int = spec_option("test", "--test", min=2, help="Fresh random architectures for the held-out Spearman."),
    set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Fit a surrogate on random table architectures; held-out Spearman and OI agreement with the table (App. F)."""
    evaluators, studies = _table_studies("surrogate", table, metric, dataset, arch_column, None, 0, model=model,
                                         encoding=encoding, samples=samples, test=test, top=top, threshold=threshold)
    run_studies("surrogate", studies, out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)


@app.command("primskip", cls=study_command("primskip"))
def primskip_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    arch_column: str = ArchColumnOption, metric: str = MetricOption, dataset: list[str] | None = DatasetsOption,
    samples: int = spec_option("samples", "--samples", min=1, help="Samples per group (App. D: 50)."),
    surrogate: str | None = SurrogateOption, surrogate_samples: int = SurrogateSamplesOption,
    seed: int = SeedOption, set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Score the random / Skip / Prim / PrimSkip groups and locate the optimum (Fig. 10, Fig. 16)."""
    evaluators, studies = _table_studies("primskip", table, metric, dataset, arch_column, surrogate,
                                         surrogate_samples, samples=samples)
    run_studies("primskip", studies, out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)


@app.command("op-usage", cls=study_command("op_usage"))
def op_usage_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    arch_column: str = ArchColumnOption, metric: str = MetricOption, dataset: list[str] | None = DatasetsOption,
    seed: int = SeedOption, set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """How many of the ground-truth top-N use each op, with each op masked once (single-path paper Fig. 3)."""
    evaluators, studies = _table_studies("op_usage", table, metric, dataset, arch_column, None, 0)
    run_studies("op-usage", studies, out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)


@app.command("cell-map", cls=study_command("cell_map"))
def cell_map_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    arch_column: str = ArchColumnOption, metric: str = MetricOption, dataset: list[str] | None = DatasetsOption,
    samples: int = spec_option("samples", "--samples", min=10), encoding: str = spec_option("encoding", "--encoding"),
    perplexity: float = spec_option("perplexity", "--perplexity", min=0.0), top: float = TopOption,
    surrogate: str | None = SurrogateOption, surrogate_samples: int = SurrogateSamplesOption,
    seed: int = SeedOption, set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """A t-SNE map of seeded sampled cells coloured by accuracy, the top ones ringed (redundancy paper Fig. 2)."""
    evaluators, studies = _table_studies("cell_map", table, metric, dataset, arch_column, surrogate,
                                         surrogate_samples, samples=samples, encoding=encoding,
                                         perplexity=perplexity, top=top)
    run_studies("cell-map", studies, out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)


GenotypesArgument = spec_argument("archs", help="DARTS genotype strings.")
PublishedOption = spec_option("published", "--published",
                              help="Also the published cells shipped here (default if none).")


@app.command("cell-shape", cls=study_command("cell_shape"))
def cell_shape_command(
    genotypes: list[str] | None = GenotypesArgument, published: bool = PublishedOption, out: Path = OutOption,
    cell: str = spec_option("cell", "--cell", help="Which cell of each genotype: normal or reduce."),
    variants: int = spec_option("variants", "--variants", min=0, help="Random variants of each cell (App. A.2)."),
    variant_kind: str = spec_option("variant_kind", "--variant-kind", help="Variant kind: connection or operation."),
    seed: int = SeedOption, set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Cell width and depth (architectures paper Sec. 3.2), optionally of random variants (App. A.2)."""
    run_studies("cell-shape", [{"kind": "cell_shape", "archs": genotypes or [], "published": published,
                                "cell": cell, "variants": variants, "variant_kind": variant_kind}],
                out=out, seed=seed, space="darts", settings=set_values)


@app.command("primskip-edit", cls=study_command("primskip_edit"))
def primskip_edit_command(genotypes: list[str] | None = GenotypesArgument, published: bool = PublishedOption,
                          out: Path = OutOption,
                          set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption) -> None:
    """The minimal edit making DARTS genotypes PrimSkip-compliant, with its edit distance (Table 2a)."""
    run_studies("primskip-edit", [{"kind": "primskip_edit", "archs": genotypes or [], "published": published}],
                out=out, space="darts", settings=set_values)


@app.command("proxies", cls=study_command("proxies"))
def proxies_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    arch_column: str = ArchColumnOption, metric: str = MetricOption, dataset: list[str] | None = DatasetsOption,
    proxies: str = spec_option("proxies", "--proxies", help="Comma-separated proxies (a plugin's included)."),
    seeds: str = spec_option("seeds", "--proxy-seeds", help="Comma-separated seeds of the networks and batch."),
    archs: int | None = spec_option("archs", "--archs", min=2,
                                    help="Score this many seeded architectures instead of the whole space."),
    proxy_dataset: str = spec_option("proxy_dataset", "--proxy-dataset", help="Dataset of the proxies' batch."),
    data_root: str | None = spec_option("data_root", "--data-root", help="Folder of that dataset's files."),
    batch_size: int = spec_option("batch_size", "--batch-size", min=2, help="Images in the proxies' batch."),
    channels: int = spec_option("channels", "--channels", min=1, help="Width of the untrained networks."),
    cells_per_stage: int = spec_option("cells_per_stage", "--cells-per-stage", min=1, help="Cells per stage."),
    seed: int = SeedOption, executor: str = ExecutorOption, workers: int = WorkersOption,
    address: str | None = AddressOption,
    set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Zero-cost proxies against the table: tau, Spearman, tau@top-N, P@K and seed-to-seed tau (issue #27)."""
    settings = {"proxies": split_names(proxies), "seeds": split_ints(seeds, "--proxy-seeds"), "archs": archs,
                "proxy_dataset": proxy_dataset, "data_root": data_root, "batch_size": batch_size,
                "channels": channels, "cells_per_stage": cells_per_stage}
    evaluators, studies = _table_studies("proxies", table, metric, dataset, arch_column, None, 0, **settings)
    run_studies("proxies", studies, out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                executor={"kind": executor, "workers": workers, "address": address}, settings=set_values)


@app.command("predictors", cls=study_command("predictors"))
def predictors_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    arch_column: str = ArchColumnOption, metric: str = MetricOption, dataset: list[str] | None = DatasetsOption,
    predictors: str = spec_option("predictors", "--predictors",
                                  help="Comma-separated predictors (a plugin's included)."),
    train_sizes: str = spec_option("train_sizes", "--train-sizes", help="Comma-separated training-set sizes."),
    seeds: str = spec_option("seeds", "--predictor-seeds", help="Comma-separated seeds of the sample and model."),
    test: int = spec_option("test", "--test", min=2, help="Held-out architectures every predictor is ranked on."),
    seed: int = SeedOption, set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Performance predictors against the table by training-set size: tau, Spearman, tau@top-N, P@K (issue #27)."""
    settings = {"predictors": split_names(predictors), "train_sizes": split_ints(train_sizes, "--train-sizes"),
                "seeds": split_ints(seeds, "--predictor-seeds"), "test": test}
    evaluators, studies = _table_studies("predictors", table, metric, dataset, arch_column, None, 0, **settings)
    run_studies("predictors", studies, out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)


#: the redundancy paper's DARTS-space studies (Sec. 3-4, App. A, App. H), by the name ``--studies`` takes
DARTS_STUDIES: dict[str, dict[str, Any]] = {
    "nb301_surrogate": {"kind": "nb301_surrogate"},
    "importance": {"kind": "importance"},
    "importance_worst": {"kind": "importance", "tail": "worst"},
    "subgraphs": {"kind": "subgraphs"},
    "subgraphs_worst": {"kind": "subgraphs", "tail": "worst", "sign": "negative"},
    "primskip": {"kind": "primskip"},
    "cell_map": {"kind": "cell_map"},
    "primskip_search": {"kind": "primskip_search"},
}


@app.command("darts-space")
def darts_space_command(
    data: str = typer.Option("darts_fashion", "--data",
                             help="An NB301 results folder, a DARTS-space benchmark table (CSV/parquet) or a shipped "
                                  "one by name (darts_fashion)."),
    out: Path = OutOption,
    metric: str | None = typer.Option(None, "--metric", "-m",
                                      help="Metric: a table's column (default test_acc) or val_accuracy / "
                                           "test_accuracy of a folder (default val_accuracy)."),
    model: str = typer.Option("gbt", "--model", help="Surrogate: gbt, gbt_ops (op counts: small tables), gin or "
                                                     "official (NB301's models, extra nb301)."),
    model_dir: str | None = typer.Option(None, "--model-dir", help="Folder of NB301's model files (model official)."),
    heldout: str | None = typer.Option(None, "--heldout",
                                       help="split (NB301's 0.8/0.1/0.1) or kfold (every row predicted out of fold); "
                                            "default kfold for a table, split for a folder."),
    studies: str = typer.Option(",".join(DARTS_STUDIES), "--studies", help="Comma-separated studies to run."),
    seed: int = SeedOption, plugin: list[str] | None = PluginOption,
) -> None:
    """The redundancy paper's DARTS-space studies through a surrogate of NB301 data or a DARTS benchmark table:
    held-out fit, operation importance (best and worst), frequent subgraphs, PrimSkip groups, the cell map and
    searches inside PrimSkip (Sec. 3-4, Fig. 2-13, App. A, App. H)."""
    from nasaudit.errors import ConfigError
    from nasaudit.registry import unknown_name_message

    folder = Path(data).is_dir()
    chosen = split_names(studies) or []
    for name in chosen:
        if name not in DARTS_STUDIES:
            raise ConfigError(unknown_name_message("study", name, list(DARTS_STUDIES)))
    evaluator: dict[str, Any] = {"kind": "nb301_surrogate", "path": data, "model": model,
                                 "metric": metric or ("val_accuracy" if folder else "test_acc")}
    if model_dir is not None:
        evaluator["model_dir"] = model_dir
    if model != "official":
        evaluator["heldout"] = heldout or ("split" if folder else "kfold")
    run_studies("darts-space", [{**DARTS_STUDIES[name], "evaluator": "darts"} for name in chosen], out=out,
                seed=seed, space="darts", evaluators={"darts": evaluator})


@app.command("pareto", cls=study_command("pareto"))
def pareto_command(
    table: str = TableOption, out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption,
    arch_column: str = ArchColumnOption, metric: str = MetricOption, dataset: list[str] | None = DatasetsOption,
    objective: str = spec_option("objective", "--objective",
                                 help="Cost to minimise: params or flops (counted unless the table has the column), "
                                      "or latency (a table column)."),
    strategies: str = spec_option("strategies", "--strategies", "-s", help="Comma-separated query-based strategies."),
    budget: int = spec_option("budget", "--budget", min=1, help="Queries per run."),
    seeds: int = spec_option("seeds", "--seeds", min=1, help="Runs per strategy, seeds --seed .. --seed+N-1."),
    max_params: float | None = spec_option("max_params", "--max-params", min=0.0,
                                           help="Also search only cells with at most this many parameters."),
    within_truth: bool = spec_option("within_truth", "--within-truth", help="Population: the table's cells only."),
    latency: bool = spec_option("latency", "--latency",
                                help="Also measure CPU latency of seeded cells (latency.csv, machine-dependent)."),
    seed: int = SeedOption, set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Accuracy against params/FLOPs: the table's Pareto front and hypervolume, each strategy's found front, and
    search under a parameter budget (redundancy paper App. G, Fig. 32)."""
    settings = {"objective": objective, "strategies": split_names(strategies), "budget": budget, "seeds": seeds,
                "max_params": max_params, "within_truth": within_truth, "latency": latency}
    evaluators, studies = _table_studies("pareto", table, metric, dataset, arch_column, None, 0, **settings)
    run_studies("pareto", studies, out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)
