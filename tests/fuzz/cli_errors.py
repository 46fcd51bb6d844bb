"""The check every hostile-input test makes of the command line: exit 2 with exactly one ``error:`` line."""

from __future__ import annotations

import pytest

from nasaudit.cli.main import main


def fails_with_one_line(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI; it must exit 2 with exactly one ``error:`` line (the last line of stderr) holding ``fragment``,
    and no traceback or rich box; return that line."""
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert done.value.code == 2, err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert "Traceback" not in err and "╭" not in err, err
    assert fragment.lower() in errors[0].lower(), (fragment, err)
    return errors[0]
