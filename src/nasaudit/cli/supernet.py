"""``nasaudit supernet``: train single-path supernets, rank them against a benchmark table, run the grid.

Single-path paper Sec. 3-4 (training variants, ranking report, Figs. 2 and 4) and search-phase paper
Sec. 4.3 (with vs without weight sharing, rank disorder).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from nasaudit.jobs import DEFAULT_STORE, EXECUTOR_KINDS

app = typer.Typer(help="Weight-sharing supernets: SPOS training variants and how well they rank.",
                  no_args_is_help=True)
_out = Console()


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


@app.command("train")
def train_command(
    out: Path = typer.Option(..., "--out", "-o", help="File to write the trained supernet to (.pt)."),
    space: str = typer.Option("nb201", "--space", help="Registered NB201, DARTS-like or NB101 space."),
    max_vertices: int | None = typer.Option(None, "--max-vertices", min=2,
                                            help="NB101 only: a reduced space of at most this many vertices."),
    ops: str | None = typer.Option(None, "--ops", help="Op mask: the comma-separated ops kept (default: all)."),
    size: str = typer.Option("S", "--size", help="Supernet size: S (2 cells/stage, 32 ch) or M (4, 64)."),
    channels: int | None = typer.Option(None, "--channels", min=1, help="Override the size's channels."),
    depth: int | None = typer.Option(None, "--depth", min=1, help="Override cells per stage (NB201) / cells."),
    sampling: str = typer.Option("fair", "--sampling", help="Path sampling: fair (strictly fair) or uniform."),
    not_shared: bool = typer.Option(False, "--not-shared", help="Each cell samples its own topology."),
    linear_transformers: str = typer.Option("", "--lt", help="Linear transformers on: skip, pool (comma-separated)."),
    warmup: int = typer.Option(0, "--warmup", min=0, help="Epochs of linear LR warm-up (paper: 5)."),
    grad_clip: float | None = typer.Option(None, "--grad-clip", help="Clip the gradient L2 norm (paper: 5)."),
    regularized: bool = typer.Option(False, "--regularized", help="Label smoothing 0.1 (paper Sec. 4.3)."),
    protocol: str = typer.Option("singlepath", "--protocol", help="Training protocol (App. A Table 1)."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Override the protocol's epochs."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, help="Override the batch size."),
    no_flip: bool = typer.Option(False, "--no-flip", help="No horizontal flips (e.g. for digits)."),
    dataset: str = typer.Option("embedded", "--dataset", help="embedded, cifar10, cifar100, imagenet16-120, svhn."),
    data_root: Path | None = typer.Option(None, "--data-root", help="Folder of the dataset files."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of weights, validation split, paths and batches."),
    checkpoint_dir: Path | None = typer.Option(None, "--checkpoint-dir", help="Checkpoint (and resume) folder."),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda when available)."),
) -> None:
    """Train one single-path supernet (single-path paper Sec. 3.3) and save it."""
    from nasaudit.spaces import get_space
    from nasaudit.supernet.training import SupernetConfig, train_supernet

    kept = _names(ops or "")
    mask = tuple(op for op in get_space(space).ops if op not in kept) if kept else ()
    config = SupernetConfig(space=space, mask=mask, size=size, channels=channels, depth=depth,
                            sampling=sampling, share_topology=not not_shared,
                            linear_transformers=_names(linear_transformers), warmup_epochs=warmup,
                            grad_clip=grad_clip, regularized=regularized, protocol=protocol, epochs=epochs,
                            batch_size=batch_size, flip=False if no_flip else None, max_vertices=max_vertices)
    run = train_supernet(config, dataset, seed=seed, data_root=data_root, checkpoint_dir=checkpoint_dir,
                         device=device)
    path = run.save(out)
    last = run.history[-1]
    _out.print(f"trained {len(run.history)} epochs in {run.wall_time_s:.1f} s (train acc {last.train_acc:.1f}%); "
               f"wrote {path}")


@app.command("rank")
def rank_command(
    supernets: list[Path] = typer.Argument(..., help="Saved supernets (one per seed) of the same config."),
    benchmark: Path = typer.Option(..., "--table", "-t", help="Ground-truth table (CSV or parquet)."),
    metric: str = typer.Option(..., "--metric", "-m", help="Metric column, or an alias with --dataset."),
    dataset: str | None = typer.Option(None, "--dataset", help="Dataset of a metric alias, e.g. cifar10."),
    arch_column: str = typer.Option("ArchitectureString", "--arch-column", help="Column of architecture strings."),
    n_random: int = typer.Option(100, "--n-random", min=2, help="Random architectures besides the top-N."),
    ranking_seed: int = typer.Option(0, "--ranking-seed", min=0, help="Seed of the random sample."),
    bn_batches: int = typer.Option(0, "--bn-batches", min=0, help="BN recalibration batches per arch (0: off)."),
    max_images: int | None = typer.Option(None, "--max-images", min=1, help="Cap on validation images."),
    strategies: str = typer.Option("", "--strategies", help="Also compare these strategies with vs without WS."),
    budget: int = typer.Option(50, "--budget", min=1, help="Queries per search run (with --strategies)."),
    search_seeds: int = typer.Option(10, "--search-seeds", min=1, help="Search runs per strategy."),
    sharing_base: str | None = typer.Option(None, "--sharing-base",
                                            help="NB201 cell for the amount-of-sharing experiment (App. D.1)."),
    data_root: Path | None = typer.Option(None, "--data-root", help="Folder of the supernets' dataset."),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda."),
    out: Path = typer.Option(Path("supernet-ranking"), "--out", "-o", help="Output directory."),
) -> None:
    """Rank supernets against ground truth: the report of single-path paper Sec. 3.4, Figs. 2 and 4."""
    import numpy as np
    import pandas as pd

    from nasaudit.benchmarks import TabularBenchmark
    from nasaudit.errors import ConfigError
    from nasaudit.report.figures_supernet import plot_predictions, plot_rank_disorder, plot_top_n_curves
    from nasaudit.supernet.evaluator import SupernetEvaluator
    from nasaudit.supernet.ranking import (
        rank_disorder,
        ranking_report,
        select_ranking_set,
        space_truth,
        weight_sharing_comparison,
    )
    from nasaudit.supernet.sharing import amount_of_sharing, sharing_archs
    from nasaudit.supernet.training import load_run
    runs = [load_run(path, data_root=data_root, device=device) for path in supernets]
    if len({run.config for run in runs}) != 1:
        raise ConfigError("all supernets given to `rank` must share one config (they differ only in the seed)")
    space = runs[0].supernet.space
    table = TabularBenchmark.from_file(benchmark, runs[0].config.space, arch_column)
    column = table.column(metric, dataset)
    rset = select_ranking_set(table, column, space, n_random=n_random, seed=ranking_seed)
    evaluators = [SupernetEvaluator(run.supernet, run.splits, bn_batches=bn_batches, max_images=max_images)
                  for run in runs]
    predictions = np.stack([e.evaluate(rset.archs) for e in evaluators])
    seeds = [run.seed for run in runs]
    report = ranking_report(rset, predictions, seeds)
    out.mkdir(parents=True, exist_ok=True)
    report.curve.to_csv(out / "curve.csv", index=False)
    report.summary.to_csv(out / "summary.csv", index=False)
    report.per_seed.to_csv(out / "per_seed.csv", index=False)
    frame = pd.DataFrame({"arch": rset.strings(space), "truth": rset.truth,
                          "random_sample": np.isin(np.arange(len(rset.archs)), rset.random)})
    for seed, row in zip(seeds, predictions, strict=True):
        frame[f"supernet_seed{seed}"] = row
    frame.to_csv(out / "predictions.csv", index=False)
    plot_predictions(rset, predictions, out / "fig2_predictions.png", truth_label=f"{column} (%)")
    plot_top_n_curves({f"seeds {seeds}": report}, out / "fig4_top_n.png")
    plot_rank_disorder(rank_disorder(rset.truth[rset.random], predictions[:, rset.random]), out / "rank_disorder.png")
    if sharing_base is not None:
        cells = sharing_archs(space, space.parse(sharing_base))
        archs = list(cells["arch"])
        predicted = np.stack([e.evaluate(archs) for e in evaluators])
        sharing = amount_of_sharing(cells, table.query(archs, column, resolve="canonical"), predicted)
        sharing.to_csv(out / "amount_of_sharing.csv", index=False)
        _out.print(sharing.to_string(index=False))
    if strategies:
        truth = table.evaluator(column, resolve="canonical")
        _, space_scores = space_truth(table, column, space)
        comparison = weight_sharing_comparison(space, {"with WS": evaluators[0], "without WS": truth}, truth,
                                               _names(strategies), budget, search_seeds, space_scores)
        comparison.to_csv(out / "ws_comparison.csv", index=False)
        _out.print(comparison.to_string(index=False))
    _out.print(report.curve.to_string(index=False))
    _out.print(report.summary.to_string(index=False))
    _out.print(f"wrote {out}/curve.csv, summary.csv, per_seed.csv, predictions.csv and figures")


@app.command("grid")
def grid_command(
    spec: Path = typer.Argument(..., help="Grid spec (YAML)."),
    store: str = typer.Option(DEFAULT_STORE, "--store", help="Results store (SQLite file or SQLAlchemy URL)."),
    executor: str = typer.Option("sequential", "--executor", help=f"One of {', '.join(EXECUTOR_KINDS)}."),
    workers: int = typer.Option(2, "--workers", min=1, help="Worker processes / Ray CPUs."),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address."),
    data_root: str | None = typer.Option(None, "--data-root", help="Dataset folder (overrides the spec)."),
    benchmark: str | None = typer.Option(None, "--table", help="Ground-truth table (overrides the spec)."),
    out: Path = typer.Option(Path("supernet-grid"), "--out", "-o", help="Output directory of the report."),
) -> None:
    """Op masks x variants x seeds through the executors into the store, then the report (Figs. 4-6)."""
    import pandas as pd

    from nasaudit.jobs.executors import make_executor
    from nasaudit.jobs.store import ResultStore
    from nasaudit.report.figures_supernet import plot_top_n_curves
    from nasaudit.supernet.grid import GridSpec, grid_reports, grid_summary, run_grid
    grid = GridSpec.from_yaml(spec, data_root=data_root, benchmark=benchmark)
    with ResultStore(store) as results:
        summary = run_grid(grid, results, make_executor(executor, workers, address))
        _out.print(str(summary))
        reports = grid_reports(results, grid.experiment)
    out.mkdir(parents=True, exist_ok=True)
    table = grid_summary(reports)
    table.to_csv(out / "grid_summary.csv", index=False)
    pd.concat([r.curve.assign(key=k) for k, r in reports.items()]).to_csv(out / "grid_curves.csv", index=False)
    for mask in dict.fromkeys(key.split("|mask=")[1] for key in reports):
        chosen = {key.split("|")[0]: r for key, r in reports.items() if key.endswith(f"|mask={mask}")}
        plot_top_n_curves(chosen, out / f"fig4_mask_{mask.replace('+', '_')}.png", title=f"mask={{{mask}}}")
    _out.print(table.to_string(index=False))
