"""Hostile and careless input through the command line (R2 2/7): every case exits 2 with one line naming the
problem, writes nothing outside the folder it was given, and leaves no half-written file behind."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from cli_errors import fails_with_one_line

from nasaudit.cli.main import main

VALID_HEAD = "analyses:\n  - {kind: cell_shape}\n"

SPECS: dict[str, tuple[bytes, str]] = {
    "strategies is a number": (b"evaluators:\n  t: {kind: table, path: embedded, metric: test_acc}\n"
                               b"analyses:\n  - {kind: compare, evaluator: t, strategies: 5}\n", "strategies"),
    "a list where a name belongs": (b"space: {name: [nb201]}\n" + VALID_HEAD.encode(), "space.name"),
    "empty op list": (b"space: {name: nb201, ops: []}\n" + VALID_HEAD.encode(), "space.ops"),
    "huge budget": (b"evaluators:\n  t: {kind: table, path: embedded, metric: test_acc}\n"
                    b"analyses:\n  - {kind: compare, evaluator: t, budget: 1.0e30}\n", "budget"),
    "duplicate keys": (b"seed: 1\nseed: 2\n" + VALID_HEAD.encode(), "duplicate"),
    "binary": (bytes(range(256)) * 4, "spec"),
    "latin-1": ("name: caf\u00e9\n".encode("latin-1") + VALID_HEAD.encode(), "UTF-8"),
    "utf-16": (("name: x\n" + VALID_HEAD).encode("utf-16"), "UTF"),
    "alias bomb": (b'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
                   b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n", "alias"),
    "path escape in a name": (b"evaluators:\n  ../../x: {kind: supernet}\n" + VALID_HEAD.encode(), "evaluator name"),
    "console markup": (b"space: {name: '[/oops]'}\n" + VALID_HEAD.encode(), "[/oops]"),
    "unknown study": (b"analyses:\n  - {kind: importnce, evaluator: t}\n", "unknown kind"),
}


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", list(SPECS))
def test_bad_specs(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    content, fragment = SPECS[case]
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(content)
    fails_with_one_line(["run", str(spec), "--out", str(tmp_path / "out")], fragment, capsys)
    assert not (tmp_path / "out").exists()
    assert _files(tmp_path) == {spec}


def test_out_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(VALID_HEAD)
    (tmp_path / "taken").write_text("mine")
    fails_with_one_line(["run", str(spec), "--out", str(tmp_path / "taken")], "is a file", capsys)
    assert (tmp_path / "taken").read_text() == "mine"


@pytest.mark.parametrize("suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip"])
def test_garbage_compressed_tables(suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / f"t{suffix}"
    table.write_bytes(gzip.compress(b"ArchitectureString,acc\n" * 50)[:40] if suffix == ".csv.gz" else b"\x00junk" * 9)
    fails_with_one_line(["compare", "--table", str(table), "--metric", "acc", "--out", str(tmp_path / "o")],
                         table.name, capsys)
    assert not (tmp_path / "o").exists()


def test_report_of_a_run_with_a_corrupt_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["analyze", "cell-shape", "--out", str(tmp_path / "run")])
    capsys.readouterr()
    (tmp_path / "run" / "00-cell_shape" / "cell_shape.csv").write_bytes(b'name,width\n"unterminated,1\n\x00\x00')
    fails_with_one_line(["report", str(tmp_path / "run")], "cell_shape.csv", capsys)


def test_malformed_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "s0.pt"
    bad.write_bytes(b"PK\x03\x04 not a torch file")
    fails_with_one_line(["supernet", "rank", str(bad), "--table", "embedded", "--metric", "test_acc",
                          "--out", str(tmp_path / "o")], "s0.pt", capsys)


def test_store_whose_parent_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("x")
    fails_with_one_line(["bench", "status", "--store", str(tmp_path / "file" / "runs.db")], "runs.db", capsys)


def test_nothing_is_written_in_the_working_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_bytes(SPECS["huge budget"][0])
    fails_with_one_line(["run", "spec.yaml"], "budget", capsys)
    assert _files(tmp_path) == {tmp_path / "spec.yaml"}
