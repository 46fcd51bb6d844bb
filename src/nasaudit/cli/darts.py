"""``nasaudit darts``: differentiable search and architecture selection (selection paper) as a one-study spec."""

from __future__ import annotations

from pathlib import Path

import typer

from nasaudit.cli._study import (
    OpsOption,
    OutOption,
    PluginOption,
    SeedOption,
    SpaceOption,
    run_studies,
    split_ints,
    split_names,
)

app = typer.Typer(help="Differentiable NAS: DARTS-family search, alpha vs perturbation-based selection.",
                  no_args_is_help=True)


@app.command("search")
def search_command(
    out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption, seed: int = SeedOption,
    algorithm: str = typer.Option("darts", "--algorithm", help="darts, darts2, sdarts_rs, sgas or gdas."),
    preset: str = typer.Option("tiny", "--preset", help="paper (the papers' settings, GPU) or tiny (CPU)."),
    dataset: str = typer.Option("embedded", "--dataset", help="embedded, fashion8, cifar10, ..."),
    data_root: str | None = typer.Option(None, "--data-root", help="Folder of the dataset files."),
    val_fraction: float = typer.Option(0.5, "--val-fraction", help="Share of the training images that train alpha."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Override the preset's search epochs."),
    channels: int | None = typer.Option(None, "--channels", help="Override the search network's width."),
    depth: int | None = typer.Option(None, "--depth",
                                     help="Override the network's depth (DARTS: cells; NB201: cells per stage)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Override the search's batch size."),
    search_seeds: int = typer.Option(4, "--search-seeds", min=1, help="Searches, seeds --seed ... --seed+N-1."),
    selections: str = typer.Option("alpha,pt,fixed_alpha_pt", "--selections",
                                   help="Comma-separated: alpha, pt, pt_mag, fixed_alpha_pt."),
    tune_epochs: int = typer.Option(5, "--tune-epochs", min=0, help="PT tuning epochs between decisions."),
    tune_sweep: str | None = typer.Option(None, "--tune-sweep",
                                          help="Also PT with these tuning epochs, comma-separated (Fig. 9)."),
    snapshot_epochs: str | None = typer.Option(None, "--snapshot-epochs", help="Re-select after these epochs."),
    table: str | None = typer.Option(None, "--table", help="Ground-truth table scoring the derived cells."),
    metric: str = typer.Option("test_acc", "--metric", help="Metric column of --table, or an alias."),
    table_dataset: str | None = typer.Option(None, "--table-dataset", help="Dataset of a metric alias."),
    shuffle_repeats: int = typer.Option(0, "--shuffle-repeats",
                                        help="Shuffle the supernet's edges and layers this many times (Table 1)."),
    reference: str | None = typer.Option(None, "--reference", help="What the paper reported, shown beside ours."),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda."),
    plugin: list[str] | None = PluginOption,
) -> None:
    """Search, derive by alpha and by PT, score by the table; the selection paper's figures in the report."""
    evaluators = ({"truth": {"kind": "table", "path": table, "metric": metric, "dataset": table_dataset}}
                  if table else {})
    study = {"kind": "differentiable", "algorithm": algorithm, "preset": preset, "dataset": dataset,
             "data_root": data_root, "val_fraction": val_fraction, "epochs": epochs, "channels": channels,
             "depth": depth, "batch_size": batch_size, "search_seeds": search_seeds,
             "selections": split_names(selections), "tune_epochs": tune_epochs,
             "tune_sweep": split_ints(tune_sweep, "--tune-sweep"),
             "snapshot_epochs": split_ints(snapshot_epochs, "--snapshot-epochs"),
             "truth": "truth" if table else None, "shuffle_repeats": shuffle_repeats, "reference": reference,
             "device": device}
    run_studies("darts-search", [study], out=out, seed=seed, space=space, ops=ops, evaluators=evaluators)
