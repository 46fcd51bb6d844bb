"""Entry point of the ``nasaudit`` command: one typer app, one sub-app per command group.

Command modules import their heavy dependencies inside the commands, so ``--help`` starts fast. Every
``NasauditError`` (bad architecture, unknown space, missing file, invalid spec) is printed as one line
(never wrapped, never a traceback) and exits with status 2.
"""

from __future__ import annotations

import sys

import typer

from nasaudit.cli import analyze as analyze_cli
from nasaudit.cli import bench as bench_cli
from nasaudit.cli import compare as compare_cli
from nasaudit.cli import darts as darts_cli
from nasaudit.cli import dynamics as dynamics_cli
from nasaudit.cli import run as run_cli
from nasaudit.cli import spaces as spaces_cli
from nasaudit.cli import supernet as supernet_cli
from nasaudit.cli import train as train_cli
from nasaudit.errors import NasauditError

app = typer.Typer(
    name="nasaudit",
    help="Audit cell-based NAS: search spaces, weight-sharing supernets and search strategies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(spaces_cli.app, name="space")
app.command("train")(train_cli.train_command)
app.add_typer(bench_cli.app, name="bench")
app.add_typer(analyze_cli.app, name="analyze")
app.command("compare")(compare_cli.compare_command)
app.command("run")(run_cli.run_command)
app.command("report")(run_cli.report_command)
app.add_typer(supernet_cli.app, name="supernet")
app.add_typer(darts_cli.app, name="darts")
app.add_typer(dynamics_cli.app, name="dynamics")


def error_line(err: BaseException) -> str:
    """An error as one line: newlines of multi-problem messages folded into ' | '."""
    return " | ".join(line.strip() for line in str(err).splitlines() if line.strip())


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; turn nasaudit's own errors into one line on stderr and exit code 2."""
    try:
        app(args=argv, standalone_mode=True)
    except NasauditError as err:
        sys.stderr.write(f"error: {error_line(err)}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
