"""``nasaudit supernet``: train single-path supernets, rank them against a benchmark table, run the grid.

Single-path paper Sec. 3-4 (training variants, ranking report, Figs. 2 and 4) and search-phase paper
Sec. 4.3 (with vs without weight sharing, rank disorder).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from nasaudit.cli._spec_options import SetOption, spec_argument, spec_option, study_command
from nasaudit.cli._study import (
    AddressOption,
    ArchColumnOption,
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
    split_names,
    table_evaluators,
)
from nasaudit.limits import MAX_BATCH, MAX_CHANNELS, MAX_DEPTH, MAX_EPOCHS, MAX_SEED

app = typer.Typer(help="Weight-sharing supernets: SPOS training variants and how well they rank.",
                  no_args_is_help=True)
_out = Console()


@app.command("train")
def train_command(
    out: Path = typer.Option(..., "--out", "-o", help="File to write the trained supernet to (.pt)."),
    space: str = typer.Option("nb201", "--space", help="Registered NB201, DARTS-like or NB101 space."),
    max_vertices: int | None = typer.Option(None, "--max-vertices", min=2, max=7,
                                            help="NB101 only: a reduced space of at most this many vertices."),
    ops: str | None = typer.Option(None, "--ops", help="Op mask: the comma-separated ops kept (default: all)."),
    size: str = typer.Option("S", "--size", help="Supernet size: S (2 cells/stage, 32 ch) or M (4, 64)."),
    channels: int | None = typer.Option(None, "--channels", min=1, max=MAX_CHANNELS,
                                        help="Override the size's channels."),
    depth: int | None = typer.Option(None, "--depth", min=1, max=MAX_DEPTH,
                                     help="Override cells per stage (NB201) / cells."),
    sampling: str = typer.Option("fair", "--sampling", help="Path sampling: fair (strictly fair) or uniform."),
    not_shared: bool = typer.Option(False, "--not-shared", help="Each cell samples its own topology."),
    linear_transformers: str = typer.Option("", "--lt", help="Linear transformers on: skip, pool (comma-separated)."),
    warmup: int = typer.Option(0, "--warmup", min=0, max=MAX_EPOCHS, help="Epochs of linear LR warm-up (paper: 5)."),
    grad_clip: float | None = typer.Option(None, "--grad-clip", min=0.0, max=1e6,
                                           help="Clip the gradient L2 norm (paper: 5)."),
    regularized: bool = typer.Option(False, "--regularized", help="Label smoothing 0.1 (paper Sec. 4.3)."),
    protocol: str = typer.Option("singlepath", "--protocol", help="Training protocol (App. A Table 1)."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, max=MAX_EPOCHS, help="Override the protocol's epochs."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1, max=MAX_BATCH, help="Override the batch size."),
    no_flip: bool = typer.Option(False, "--no-flip", help="No horizontal flips (e.g. for digits)."),
    dataset: str = typer.Option("embedded", "--dataset", help="embedded, cifar10, cifar100, imagenet16-120, svhn."),
    data_root: Path | None = typer.Option(None, "--data-root", help="Folder of the dataset files."),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED,
                             help="Seed of weights, validation split, paths and batches."),
    checkpoint_dir: Path | None = typer.Option(None, "--checkpoint-dir", help="Checkpoint (and resume) folder."),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda when available)."),
) -> None:
    """Train one single-path supernet (single-path paper Sec. 3.3) and save it."""
    from nasaudit.spaces import get_space
    from nasaudit.weight_sharing.supernet.training import SupernetConfig, train_supernet

    kept = tuple(split_names(ops) or ())
    mask = tuple(op for op in get_space(space).ops if op not in kept) if kept else ()
    config = SupernetConfig(space=space, mask=mask, size=size, channels=channels, depth=depth,
                            sampling=sampling, share_topology=not not_shared,
                            linear_transformers=tuple(split_names(linear_transformers) or ()), warmup_epochs=warmup,
                            grad_clip=grad_clip, regularized=regularized, protocol=protocol, epochs=epochs,
                            batch_size=batch_size, flip=False if no_flip else None, max_vertices=max_vertices)
    run = train_supernet(config, dataset, seed=seed, data_root=data_root, checkpoint_dir=checkpoint_dir,
                         device=device)
    path = run.save(out)
    last = run.history[-1]
    _out.print(f"trained {len(run.history)} epochs in {run.wall_time_s:.1f} s (train acc {last.train_acc:.1f}%); "
               f"wrote {path}")


@app.command("rank", cls=study_command("supernet_ranking"))
def rank_command(
    supernets: list[Path] = typer.Argument(..., help="Saved supernets (one per seed) of the same config."),
    table: str = TableOption, metric: str = MetricOption,
    dataset: str | None = typer.Option(None, "--dataset", "-d", help="Dataset of a metric alias, e.g. cifar10."),
    arch_column: str = ArchColumnOption,
    n_random: int = spec_option("n_random", "--n-random", min=2, help="Random architectures besides the top-N."),
    bn_batches: int = spec_option("bn_batches", "--bn-batches", min=0,
                                  help="BN recalibration batches per arch (0: off)."),
    max_images: int | None = spec_option("max_images", "--max-images", min=1, help="Cap on validation images."),
    strategies: str | None = spec_option("strategies", "--strategies", help="Also search with vs without WS."),
    budget: int = spec_option("budget", "--budget", min=1, help="Queries per search run (with --strategies)."),
    search_seeds: int = spec_option("search_seeds", "--search-seeds", min=1, help="Search runs per strategy."),
    sharing_base: str | None = spec_option("sharing_base", "--sharing-base",
                                           help="NB201 cell for the amount-of-sharing experiment (App. D.1)."),
    data_root: str | None = spec_option("data_root", "--data-root", help="Folder of the supernets' dataset."),
    device: str | None = spec_option("device", "--device", help="cpu or cuda."),
    space: str = SpaceOption, ops: str | None = OpsOption, seed: int = SeedOption, out: Path = OutOption,
    set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Rank saved supernets against ground truth: the report of single-path paper Sec. 3.4, Figs. 2 and 4."""
    evaluators = table_evaluators(table, metric, [dataset] if dataset else None, arch_column)
    study = {"kind": "supernet_ranking", "truth": next(iter(evaluators)), "checkpoints": [str(p) for p in supernets],
             "data_root": data_root, "device": device, "n_random": n_random,
             "bn_batches": bn_batches, "max_images": max_images, "sharing_base": sharing_base,
             "strategies": split_names(strategies) or [], "budget": budget, "search_seeds": search_seeds}
    run_studies("supernet-rank", [study], out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)


@app.command("grid", cls=study_command("supernet_grid"))
def grid_command(
    spec: str = spec_argument("grid", help="Grid spec (YAML), or 'embedded' for the shipped one."),
    store: str | None = typer.Option(None, "--store", help="Results store (default: <out>/results.sqlite)."),
    executor: str = ExecutorOption, workers: int = WorkersOption, address: str | None = AddressOption,
    data_root: str | None = spec_option("data_root", "--data-root",
                                        help="Dataset folder (overrides the grid file)."),
    table: str | None = spec_option("table", "--table",
                                    help="Ground-truth table (overrides the grid file)."),
    out: Path = OutOption, set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
) -> None:
    """Op masks x variants x seeds through the executors into the store, then the report (Figs. 4-6)."""
    run_studies("supernet-grid", [{"kind": "supernet_grid", "grid": spec, "data_root": data_root, "table": table}],
                out=out, executor={"kind": executor, "workers": workers, "address": address}, store=store,
                settings=set_values)
