"""``nasaudit darts``: differentiable search and architecture selection (selection paper) as a one-study spec."""

from __future__ import annotations

from pathlib import Path

import typer

from nasaudit.cli._study import OpsOption, OutOption, SeedOption, SpaceOption, run_studies, split_names

app = typer.Typer(help="Differentiable NAS: DARTS-family search, alpha vs perturbation-based selection.",
                  no_args_is_help=True)


@app.command("search")
def search_command(
    out: Path = OutOption, space: str = SpaceOption, ops: str | None = OpsOption, seed: int = SeedOption,
    algorithm: str = typer.Option("darts", "--algorithm", help="darts, darts2, sdarts_rs, sgas or gdas."),
    preset: str = typer.Option("tiny", "--preset", help="paper (the papers' settings, GPU) or tiny (CPU)."),
    dataset: str = typer.Option("embedded", "--dataset", help="embedded, fashion8, cifar10, ..."),
    data_root: str | None = typer.Option(None, "--data-root", help="Folder of the dataset files."),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Override the preset's search epochs."),
    search_seeds: int = typer.Option(4, "--search-seeds", min=1, help="Searches, seeds --seed ... --seed+N-1."),
    selections: str = typer.Option("alpha,pt,fixed_alpha_pt", "--selections",
                                   help="Comma-separated: alpha, pt, fixed_alpha_pt."),
    tune_epochs: int = typer.Option(5, "--tune-epochs", min=0, help="PT tuning epochs between decisions."),
    snapshot_epochs: str | None = typer.Option(None, "--snapshot-epochs", help="Re-select after these epochs."),
    table: str | None = typer.Option(None, "--table", help="Ground-truth table scoring the derived cells."),
    metric: str = typer.Option("test_acc", "--metric", help="Metric column of --table, or an alias."),
    table_dataset: str | None = typer.Option(None, "--table-dataset", help="Dataset of a metric alias."),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda."),
) -> None:
    """Search, derive by alpha and by PT, score by the table; the selection paper's figures in the report."""
    evaluators = ({"truth": {"kind": "table", "path": table, "metric": metric, "dataset": table_dataset}}
                  if table else {})
    study = {"kind": "differentiable", "algorithm": algorithm, "preset": preset, "dataset": dataset,
             "data_root": data_root, "epochs": epochs, "search_seeds": search_seeds,
             "selections": split_names(selections), "tune_epochs": tune_epochs,
             "snapshot_epochs": [int(e) for e in split_names(snapshot_epochs) or []],
             "truth": "truth" if table else None, "device": device}
    run_studies("darts-search", [study], out=out, seed=seed, space=space, ops=ops, evaluators=evaluators)
