"""``nasaudit run [SPEC]`` runs an audit (the default one on the embedded data when no spec is given);
``nasaudit report PATH`` rebuilds the HTML report of a run from its store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from nasaudit.cli._study import PluginOption

_out = Console()


def run_command(
    spec: Path | None = typer.Argument(None, help="Experiment spec (YAML). Default: the embedded audit."),
    output: Path | None = typer.Option(None, "--out", "-o", help="Run folder (overrides the spec's 'output')."),
    plan: bool = typer.Option(False, "--plan", help="Print every study's planned jobs and cost; run nothing and "
                                                    "write nothing."),
    create_store: bool = typer.Option(False, "--create-store", help="Add nasaudit's tables to the spec's 'store' "
                                      "even when it is an existing database holding other tables."),
    plugin: list[str] | None = PluginOption,
) -> None:
    """Run an experiment spec (resuming a killed run) and write its HTML report."""
    from nasaudit.audit.runner import run_spec
    from nasaudit.audit.spec import load_spec
    from nasaudit.resources import default_spec_path

    loaded = load_spec(spec or default_spec_path())
    if output is not None:
        loaded = loaded.model_copy(update={"output": str(output.resolve())})
    elif spec is None:
        loaded = loaded.model_copy(update={"output": str(Path(loaded.output).resolve())})
    if plan:
        _print_plan(loaded)
        return
    report = run_spec(loaded, create_store=create_store)
    _out.print(f"report: {report}", highlight=False, soft_wrap=True)


def _print_plan(spec: Any) -> None:
    """One line per planned item: study, kind, what, number of jobs, units (``nasaudit.audit.plan``)."""
    from nasaudit.audit.plan import plan_spec

    _out.print(f"plan of {spec.name!r} (nothing is run; output {spec.output} is not touched):", highlight=False,
               soft_wrap=True, markup=False)
    for row in plan_spec(spec):
        jobs = "as the study needs" if row.jobs is None else f"{row.jobs} job(s)"
        _out.print(f"{row.study}  {row.kind}  {row.what}: {jobs}; {row.units}", highlight=False, soft_wrap=True,
                   markup=False)


def report_command(
    path: str = typer.Argument(..., help="Run folder, its results.sqlite, or a SQLAlchemy URL of the store."),
    run_dir: Path | None = typer.Option(None, "--run-dir", help="Run folder (needed with a database URL)."),
) -> None:
    """Regenerate the HTML report of a run from its results store."""
    from nasaudit.report.build import report_from_store

    _out.print(f"report: {report_from_store(path, run_dir)}", highlight=False, soft_wrap=True)
