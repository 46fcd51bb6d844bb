"""``nasaudit space``: listing, showing, validating, enumerating; clear errors without tracebacks."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from nasaudit.cli.main import main

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nasaudit.cli.main", *args], capture_output=True, text=True)


def test_list_and_show(capsys):
    with pytest.raises(SystemExit) as done:
        main(["space", "list"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "nb201" in out and "15,625" in out and "darts_s4" in out
    with pytest.raises(SystemExit):
        main(["space", "show", "nb201", "--ops", "skip_connect,nor_conv_1x1,nor_conv_3x3,avg_pool_3x3",
              "--samples", "2", "--seed", "1"])
    out = capsys.readouterr().out
    assert "4,096" in out and out.count("|+|") >= 4


def test_validate_prints_normalised_form_and_key(capsys):
    with pytest.raises(SystemExit) as done:
        main(["space", "validate", "nb201", BEST])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert BEST in out and "canonical" in out


def test_enumerate_unique_classes(tmp_path):
    out = tmp_path / "nb201.csv"
    with pytest.raises(SystemExit) as done:
        main(["space", "enumerate", "nb201", "--out", str(out), "--unique"])
    assert done.value.code == 0
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 6_466


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["space", "validate", "nb201", BEST.replace("nor_conv_1x1", "x").replace("skip_connect", "conv_7x7")],
         "unknown op"),
        (["space", "validate", "darts", "Genotype(normal=[('sep_conv_3x3', 0)"], "not valid Genotype"),
        (["space", "show", "nb999"], "unknown search space"),
        (["space", "enumerate", "darts", "--out", "/tmp/never.csv"], "enumeration limit"),
    ],
)
def test_errors_exit_nonzero_with_one_line_and_no_traceback(args, fragment):
    result = run_cli(*args)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
