"""``nasaudit darts``: differentiable search and architecture selection (selection paper) as a one-study spec."""

from __future__ import annotations

from pathlib import Path

import typer

from nasaudit.cli._spec_options import SetOption, spec_option, study_command
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


@app.command("search", cls=study_command("differentiable"))
def search_command(
    out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption, seed: int = SeedOption,
    algorithm: str = spec_option("algorithm", "--algorithm",
                                 help="darts, darts2, sdarts_rs, sgas, gdas, drnas or pcdarts."),
    preset: str = spec_option("preset", "--preset", help="paper (the papers' settings, GPU) or tiny (CPU)."),
    dataset: str = spec_option("dataset", "--dataset", help="embedded, fashion8, cifar10, ..."),
    data_root: str | None = spec_option("data_root", "--data-root", help="Folder of the dataset files."),
    val_fraction: float = spec_option("val_fraction", "--val-fraction",
                                      help="Share of the training images that train alpha."),
    epochs: int | None = spec_option("epochs", "--epochs", min=1, help="Override the preset's search epochs."),
    channels: int | None = spec_option("channels", "--channels", help="Override the search network's width."),
    depth: int | None = spec_option("depth", "--depth",
                                    help="Override the network's depth (DARTS: cells; NB201: cells per stage)."),
    batch_size: int | None = spec_option("batch_size", "--batch-size", help="Override the search's batch size."),
    search_seeds: int = spec_option("search_seeds", "--search-seeds", min=1,
                                    help="Searches, seeds --seed ... --seed+N-1."),
    selections: str = spec_option("selections", "--selections",
                                  help="Comma-separated: alpha, pt, pt_mag, fixed_alpha_pt."),
    tune_epochs: int = spec_option("tune_epochs", "--tune-epochs", min=0, help="PT tuning epochs between decisions."),
    tune_sweep: str | None = spec_option("tune_sweep", "--tune-sweep",
                                         help="Also PT with these tuning epochs, comma-separated (Fig. 9)."),
    snapshot_epochs: str | None = spec_option("snapshot_epochs", "--snapshot-epochs",
                                              help="Re-select after these epochs, comma-separated."),
    table: str | None = typer.Option(None, "--table", help="Ground-truth table scoring the derived cells."),
    metric: str = typer.Option("test_acc", "--metric", help="Metric column of --table, or an alias."),
    table_dataset: str | None = typer.Option(None, "--table-dataset", help="Dataset of a metric alias."),
    shuffle_repeats: int = spec_option("shuffle_repeats", "--shuffle-repeats",
                                       help="Shuffle the supernet's edges and layers this many times (Table 1)."),
    reference: str | None = spec_option("reference", "--reference", help="What the paper reported, shown beside ours."),
    device: str | None = spec_option("device", "--device", help="cpu or cuda."),
    set_values: list[str] | None = SetOption, plugin: list[str] | None = PluginOption,
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
    run_studies("darts-search", [study], out=out, seed=seed, space=space, ops=ops, evaluators=evaluators,
                settings=set_values)
