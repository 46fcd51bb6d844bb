"""``nasaudit space``: list spaces, show sizes and samples, validate architectures, enumerate to a file."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from nasaudit.limits import MAX_SAMPLES, MAX_SEED

if TYPE_CHECKING:
    from nasaudit.spaces.base import SearchSpace
from rich.console import Console

app = typer.Typer(help="Search spaces: list, show, validate, enumerate.", no_args_is_help=True)
_out = Console()

RestrictOption = typer.Option(
    None, "--ops", help="Comma-separated op subset (op masking), e.g. 'skip_connect,nor_conv_3x3'."
)


def _space(name: str, ops: str | None) -> SearchSpace:
    from nasaudit.spaces import get_space

    space = get_space(name)
    if ops:
        space = space.restrict([op.strip() for op in ops.split(",") if op.strip()])
    return space


@app.command("list")
def list_command() -> None:
    """List the registered search spaces with their sizes."""
    from rich.table import Table

    from nasaudit.spaces import get_space, list_spaces, space_description
    table = Table("space", "architectures", "description")
    for name in list_spaces():
        table.add_row(name, f"{get_space(name).size:,}", space_description(name))
    _out.print(table)


@app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Registered space name, e.g. nb201."),
    samples: int = typer.Option(3, min=0, max=MAX_SAMPLES, help="How many seeded samples to print."),
    seed: int = typer.Option(0, min=0, max=MAX_SEED, help="Seed of the samples."),
    ops: str | None = RestrictOption,
) -> None:
    """Show a space's ops, exact size and a few seeded samples."""
    space = _space(name, ops)
    for key, value in space.describe().items():
        _out.print(f"[bold]{key}[/]: {value:,}" if isinstance(value, int) else f"[bold]{key}[/]: {value}",
                   highlight=False)
    for arch in space.sample_many(samples, seed):
        _out.print(str(arch), highlight=False, soft_wrap=True)


@app.command("validate")
def validate_command(
    name: str = typer.Argument(..., help="Registered space name."),
    arch: str = typer.Argument(..., help="Architecture string in the space's community format."),
    ops: str | None = RestrictOption,
) -> None:
    """Check an architecture string; print its normalised form and canonical key, or the error."""
    space = _space(name, ops)
    value = space.coerce(arch)
    _out.print(f"[green]valid[/] {space.name} architecture", highlight=False)
    _out.print(f"normalised: {space.format(value)}", highlight=False, soft_wrap=True)
    _out.print(f"canonical:  {space.canonical(value)}", highlight=False, soft_wrap=True)


@app.command("enumerate")
def enumerate_command(
    name: str = typer.Argument(..., help="Registered space name."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV file to write (arch, canonical)."),
    ops: str | None = RestrictOption,
    unique: bool = typer.Option(False, help="Keep one architecture per canonical class."),
) -> None:
    """Write every architecture of a finite space (with its canonical key) to a CSV file."""
    from nasaudit._atomic import atomic_open

    space = _space(name, ops)
    archs = space.enumerate()
    seen: set[str] = set()
    count = 0
    with atomic_open(out, "w") as handle:
        writer = csv.writer(handle)
        writer.writerow(["arch", "canonical"])
        for arch in archs:
            key = space.canonical(arch)
            if unique and key in seen:
                continue
            seen.add(key)
            writer.writerow([space.format(arch), key])
            count += 1
    _out.print(f"wrote {count:,} architectures of {space.name} to {out}", highlight=False)
