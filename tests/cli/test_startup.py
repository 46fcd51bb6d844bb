"""Start-up: ``nasaudit --help`` and every group's ``--help`` import none of the heavy libraries."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("torch", "scipy", "matplotlib", "pandas", "sqlalchemy", "sklearn", "lightgbm")
PROBE = """
import sys
from nasaudit.cli.main import main
try:
    main({argv!r})
except SystemExit as done:
    assert done.code == 0, done.code
print("HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""


@pytest.mark.parametrize("argv", [["--help"], ["space", "--help"], ["analyze", "--help"], ["bench", "--help"],
                                  ["supernet", "--help"], ["compare", "--help"], ["run", "--help"],
                                  ["train", "--help"], ["darts", "--help"], ["dynamics", "--help"]])
def test_help_imports_no_heavy_library(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv, heavy=HEAVY)], capture_output=True,
                          text=True, timeout=120, check=True)
    last = done.stdout.strip().splitlines()[-1]
    assert last == "HEAVY=", f"{argv} imported {last}"
