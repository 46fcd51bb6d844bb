"""Entry point of the ``nasaudit`` command: one typer app, one sub-app per command group.

Command modules import their heavy dependencies inside the commands, so ``--help`` starts fast. Every
``NasauditError`` (bad architecture, unknown space, missing file, invalid spec) is printed as one line
(never wrapped, never a traceback) and exits with status 2.
"""

from __future__ import annotations

import errno
import sys
from typing import NoReturn

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
from nasaudit.cli._spec_options import study_command
from nasaudit.errors import NasauditError

try:  # newer typer parses with its own copy of click, older typer with click itself
    from typer._click import exceptions as _usage
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as _usage  # type: ignore[no-redef]

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
app.command("compare", cls=study_command("compare"))(compare_cli.compare_command)
app.command("run")(run_cli.run_command)
app.command("report")(run_cli.report_command)
app.add_typer(supernet_cli.app, name="supernet")
app.add_typer(darts_cli.app, name="darts")
app.add_typer(dynamics_cli.app, name="dynamics")


def error_line(err: BaseException | str) -> str:
    """An error as one line: newlines of multi-problem messages folded into ' | '."""
    return " | ".join(line.strip() for line in str(err).splitlines() if line.strip())


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"error: {message}\n")
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; turn nasaudit's own errors, click's usage errors (a bad or out-of-range option, a missing
    argument) and an operating-system error (disk full, permission) into one line on stderr and exit code 2.

    Click's usage errors would otherwise print a multi-line box; ``--help`` and a bare group still print help.
    """
    try:
        code = app(args=argv, prog_name="nasaudit", standalone_mode=False)
    except _usage.NoArgsIsHelpError as err:
        print(err.ctx.get_help())
        sys.exit(2)
    except _usage.ClickException as err:
        command = err.ctx.command_path if isinstance(err, _usage.UsageError) and err.ctx is not None else ""
        _fail(error_line(f"{command}: {err.format_message()}" if command else err.format_message()))
    except typer.Abort:
        _fail("aborted")
    except NasauditError as err:
        _fail(error_line(err))
    except OSError as err:  # an environment failure outside nasaudit's own checks: one line, not a traceback
        if err.errno == errno.EPIPE:
            sys.exit(1)
        where = f"{err.filename}: " if err.filename else ""
        _fail(error_line(f"{where}{err.strerror or err}"))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
