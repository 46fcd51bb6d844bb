"""The one path from command-line flags to results: build a spec of studies, validate it, run it through the
audit runner (same store, resume and report as ``nasaudit run``), print where the results are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from nasaudit.cli._spec_options import apply_settings, parse_settings
from nasaudit.limits import MAX_SEED, MAX_WORKERS

_out = Console(soft_wrap=True)

TableOption = typer.Option(..., "--table", "-t", help="Benchmark table (CSV/parquet, or 'embedded').")
OutOption = typer.Option(..., "--out", "-o", help="Run folder: tables, figures, report.html and the results store.")
SpaceOption = typer.Option("nb201", "--space", help="Registered search space.")
OpsOption = typer.Option(None, "--ops", help="Op mask: the comma-separated ops kept (default: all).")
ArchColumnOption = typer.Option("ArchitectureString", "--arch-column", help="Column holding the architectures.")
MetricOption = typer.Option("test_acc", "--metric", "-m", help="Metric column, or an alias such as test_acc.")
DatasetsOption = typer.Option(None, "--dataset", "-d",
                              help="Dataset of the metric alias (repeatable: one study per dataset).")
SeedOption = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="Seed of every random choice.")
ExecutorOption = typer.Option("sequential", "--executor", help="sequential, processes or ray.")
WorkersOption = typer.Option(2, "--workers", min=1, max=MAX_WORKERS, help="Worker processes / Ray CPUs.")
AddressOption = typer.Option(None, "--address", help="Ray cluster address.")


def load_plugin_option(values: list[str] | None) -> list[str] | None:
    """Import the ``--plugin`` modules or .py files (paths relative to the working folder, anywhere) as the
    command line is read, before any name is resolved (``nasaudit.plugins``)."""
    if values:
        from nasaudit.plugins import load_plugins

        load_plugins(list(values), Path.cwd(), confined=False)
    return values


PluginOption = typer.Option(None, "--plugin", callback=load_plugin_option,
                            help="A plugin to load first: a module name or a .py file registering strategies, "
                                 "weight-sharing methods, evaluator kinds, studies or spaces (repeatable; "
                                 "docs/plugins.md).")


def split_names(text: str | None) -> list[str] | None:
    """``"a,b"`` -> ``["a", "b"]``; None stays None."""
    return None if text is None else [name.strip() for name in text.split(",") if name.strip()]


def split_ints(text: str | None, option: str) -> list[int]:
    """``"1,5"`` -> ``[1, 5]`` (ASCII digits only); anything else is a ConfigError naming ``option``."""
    from nasaudit.errors import ConfigError

    values = []
    for item in split_names(text) or []:
        digits = item.removeprefix("-")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
            raise ConfigError(f"{option} expects comma-separated whole numbers, got {item!r}")
        values.append(int(item))
    return values


def table_evaluators(table: str, metric: str, datasets: list[str | None] | list[str] | None,
                     arch_column: str) -> dict[str, Any]:
    """One table evaluator per dataset (or one without a dataset), named for what it scores."""
    return {(dataset or "truth"): {"kind": "table", "path": table, "metric": metric, "dataset": dataset,
                                   "arch_column": arch_column} for dataset in (list(datasets) if datasets else [None])}


def run_studies(name: str, studies: list[dict[str, Any]], *, out: Path, seed: int = 0, space: str = "nb201",
                ops: str | None = None, evaluators: dict[str, Any] | None = None,
                executor: dict[str, Any] | None = None, store: str | None = None,
                settings: list[str] | None = None) -> Path:
    """Validate and run a spec of ``studies``, each with the ``--set`` ``settings`` applied last; print each
    section's title and the report's path."""
    from nasaudit.audit.runner import Runner
    from nasaudit.audit.spec import spec_from_data
    from nasaudit.report.build import write_report

    parsed = parse_settings(settings)
    data: dict[str, Any] = {"name": name, "seed": seed, "output": str(out.resolve()),
                            "space": {"name": space, "ops": split_names(ops)}, "evaluators": evaluators or {},
                            "analyses": [apply_settings(study, parsed) for study in studies]}
    if executor is not None:
        data["executor"] = executor
    if store is not None:
        data["store"] = store
    spec = spec_from_data(data, Path.cwd(), source=f"nasaudit {name}")
    runner = Runner(spec)
    sections = runner.run()
    for section in sections:
        _out.print(f"{section.key}: {section.title}", highlight=False, markup=False)
        for caption, path in section.tables:
            _out.print(f"  {caption}: {runner.out / path}", highlight=False, markup=False)
        for note in section.notes:
            _out.print(f"  note: {note}", highlight=False, markup=False)
    report = write_report(spec.name, runner.out, sections)
    _out.print(f"report: {report}", highlight=False, markup=False)
    return report
