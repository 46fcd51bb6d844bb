"""A run folder that reaches outside itself (issue #22 items 10, 11): links and paths planted in a run folder or
its store, hostile output folders and foreign databases. Every case is one ``error:`` line and exit 2, and
nothing outside the run folder is read into the report or written."""

from __future__ import annotations

import gc
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_errors import fails_with_one_line

from nasaudit.cli.main import main

SECRET = "root:x:0:0:secret-outside-the-run\n"
CELL = "00-cell_shape"


def succeeds(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code in (0, None)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links as their target) with its content's digest."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[str(path)] = "-> " + os.readlink(path)
        elif path.is_file():
            out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the run with a secret file, a PNG and a database of someone else."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "passwd").write_text(SECRET)
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\nsecret-picture")
    return folder


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    succeeds(["analyze", "cell-shape", "--out", str(tmp_path / "run")])
    capsys.readouterr()
    gc.collect()  # the in-process run's store connection closes now, not while a test plants links
    return tmp_path / "run"


def rerun(run: Path) -> list[str]:
    return ["analyze", "cell-shape", "--out", str(run)]


def report(run: Path) -> list[str]:
    return ["report", str(run)]


# ------------------------------------------------------------------ links planted in a run folder
def _link_report(run: Path, outside: Path) -> None:
    (run / "report.html").unlink()
    (run / "report.html").symlink_to(outside / "passwd")


def _link_spec(run: Path, outside: Path) -> None:
    (run / "spec.json").unlink()
    (run / "spec.json").symlink_to(outside / "passwd")


def _link_section_folder(run: Path, outside: Path) -> None:
    (run / CELL).rename(outside / CELL)
    (run / CELL).symlink_to(outside / CELL)


def _link_section_json(run: Path, outside: Path) -> None:
    (outside / "section.json").write_bytes((run / CELL / "section.json").read_bytes())
    (run / CELL / "section.json").unlink()
    (run / CELL / "section.json").symlink_to(outside / "section.json")


def _link_table(run: Path, outside: Path) -> None:
    (run / CELL / "cell_shape.csv").unlink()
    (run / CELL / "cell_shape.csv").symlink_to(outside / "passwd")


def _link_figure(run: Path, outside: Path) -> None:
    (run / CELL / "cell_shape.png").unlink()
    (run / CELL / "cell_shape.png").symlink_to(outside / "picture.png")


def _link_store(run: Path, outside: Path) -> None:
    (run / "results.sqlite").rename(outside / "results.sqlite")
    (run / "results.sqlite").symlink_to(outside / "results.sqlite")


def _link_store_wal(run: Path, outside: Path) -> None:
    (outside / "wal").write_text("theirs")
    (run / "results.sqlite-wal").unlink(missing_ok=True)
    (run / "results.sqlite-wal").symlink_to(outside / "wal")


def _link_marker(run: Path, outside: Path) -> None:
    (run / ".nasaudit-run").unlink()
    (run / ".nasaudit-run").symlink_to(outside / "passwd")


#: None: the command does not touch that file (the report reads no spec.json or section.json, it reads the store),
#: or replaces it (a recomputed study's folder replaces the old one, links and all): it succeeds
LINKS: dict[str, tuple[Callable[[Path, Path], None], str | None, str | None, str | None]] = {
    # case: (plant, fragment of the error of a rerun, of a rerun that recomputes the study, of the report)
    "report.html": (_link_report, "report.html", "report.html", "report.html"),
    "spec.json": (_link_spec, "spec.json", "spec.json", None),
    "section folder": (_link_section_folder, CELL, CELL, CELL),
    "section.json": (_link_section_json, "section.json", "section.json", None),
    "table": (_link_table, "cell_shape.csv", None, "cell_shape.csv"),
    "figure": (_link_figure, "cell_shape.png", None, "cell_shape.png"),
    "results.sqlite": (_link_store, "results.sqlite", "results.sqlite", "results.sqlite"),
    "results.sqlite-wal": (_link_store_wal, "results.sqlite-wal", "results.sqlite-wal", "results.sqlite-wal"),
    "run marker": (_link_marker, ".nasaudit-run", ".nasaudit-run", ".nasaudit-run"),
}


@pytest.mark.parametrize("case", list(LINKS))
@pytest.mark.parametrize("command", ["rerun", "rerun recomputing", "report"])
def test_links_in_a_run_folder_are_refused(case: str, command: str, run: Path, outside: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    plant, *fragments = LINKS[case]
    fragment = dict(zip(["rerun", "rerun recomputing", "report"], fragments, strict=True))[command]
    if command == "rerun recomputing" and case not in ("results.sqlite", "results.sqlite-wal"):
        with sqlite3.connect(run / "results.sqlite") as db:  # the store forgets the study: it runs again
            db.execute("DELETE FROM experiment_results")
    plant(run, outside)
    before = snapshot(outside)
    argv = report(run) if command == "report" else rerun(run)
    if fragment is None:
        succeeds(argv)
        capsys.readouterr()
    else:
        fails_with_one_line(argv, fragment, capsys)
    assert snapshot(outside) == before
    if (run / "report.html").is_file() and not (run / "report.html").is_symlink():
        assert "secret" not in (run / "report.html").read_text()
    if fragment is None and command == "rerun recomputing":  # the study's new folder replaced the old, link and all
        assert not [p for p in (run / CELL).iterdir() if p.is_symlink()]
        assert not list(run.glob(".partial-*"))


def test_a_linked_work_folder_is_refused(tmp_path: Path, outside: Path) -> None:
    from nasaudit.audit.runner import Runner
    from nasaudit.audit.spec import spec_from_data
    from nasaudit.errors import DataError

    spec = spec_from_data({"output": str(tmp_path / "run"), "analyses": [{"kind": "cell_shape"}]}, tmp_path)
    runner = Runner(spec)
    (tmp_path / "run" / "supernets").symlink_to(outside)
    with pytest.raises(DataError, match="symbolic link"):
        runner.work_dir("supernets", "truth-seed0")
    assert not (outside / "truth-seed0").exists()
    runner.store.close()


# ------------------------------------------------------------------ paths and links in section records
HOSTILE_PATHS = {
    "absolute": "/etc/passwd",
    "outside by ..": "../outside/passwd",
    "inside then out": f"{CELL}/../../outside/passwd",
    "javascript": "javascript:alert(document.cookie)",
    "other scheme": "https://evil.example/x.csv",
    "protocol-relative": "//evil.example/x.csv",
    "backslash": "..\\outside\\passwd",
    "empty": "",
}


def _plant_path(section: dict, field: str, path: str) -> dict:
    pairs = section[field] or [["caption", "x"]]
    pairs[0] = [pairs[0][0], path]
    return {**section, field: pairs}


@pytest.mark.parametrize("field", ["tables", "figures", "downloads"])
@pytest.mark.parametrize("case", list(HOSTILE_PATHS))
def test_section_json_naming_a_path_outside_is_refused(case: str, field: str, run: Path, outside: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    saved = run / CELL / "section.json"
    section = json.loads(saved.read_text())
    saved.write_text(json.dumps(_plant_path(section, field, HOSTILE_PATHS[case])))
    before = snapshot(outside)
    fails_with_one_line(rerun(run), "section.json", capsys)
    assert "secret" not in (run / "report.html").read_text()
    assert snapshot(outside) == before


@pytest.mark.parametrize("field", ["tables", "figures", "downloads"])
@pytest.mark.parametrize("case", list(HOSTILE_PATHS))
def test_store_row_naming_a_path_outside_is_refused(case: str, field: str, run: Path, outside: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(run / "results.sqlite") as db:
        (metrics,) = db.execute("SELECT metrics FROM experiment_results").fetchone()
        metrics = json.loads(metrics)
        metrics["section"] = _plant_path(metrics["section"], field, HOSTILE_PATHS[case])
        db.execute("UPDATE experiment_results SET metrics = ?", (json.dumps(metrics),))
    (run / "report.html").unlink()
    fails_with_one_line(report(run), "results.sqlite", capsys)
    assert not (run / "report.html").exists()


def test_a_section_key_that_is_a_path_is_refused(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(run / "results.sqlite") as db:
        (metrics,) = db.execute("SELECT metrics FROM experiment_results").fetchone()
        metrics = json.loads(metrics)
        metrics["section"]["key"] = "../../x"
        db.execute("UPDATE experiment_results SET metrics = ?", (json.dumps(metrics),))
    fails_with_one_line(report(run), "key", capsys)


def test_report_html_links_only_inside_the_run(run: Path) -> None:
    """The report a normal run writes: every href is an anchor or a plain relative path."""
    import re

    text = (run / "report.html").read_text()
    for href in re.findall(r'href="([^"]*)"', text):
        assert href.startswith("#") or (":" not in href and not href.startswith("/") and ".." not in href), href


# ------------------------------------------------------------------ output folders
SPEC = "name: hostile\nanalyses:\n  - {kind: cell_shape}\n"


@pytest.mark.parametrize("case", ["root", "parent", "here", "foreign folder", "folder with only the spec",
                                  "home-like folder"])
@pytest.mark.parametrize("via", ["--out", "spec output"])
def test_an_output_folder_that_is_not_a_run_is_refused(case: str, via: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "theirs.txt").write_text("keep me")
    out = {"root": "/", "parent": "..", "here": ".", "foreign folder": str(tmp_path / "docs"),
           "folder with only the spec": ".", "home-like folder": str(tmp_path)}[case]
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "thesis.tex").write_text("years of work")
    if case != "folder with only the spec":
        (work / "notes.txt").write_text("mine")
    spec = work / "audit.yaml"
    spec.write_text(SPEC + (f"output: '{out}'\n" if via == "spec output" else ""))
    monkeypatch.chdir(work)
    before = snapshot(tmp_path)
    argv = ["run", str(spec)] + (["--out", out] if via == "--out" else [])
    fails_with_one_line(argv, "filesystem root" if case == "root" else "not a nasaudit run folder", capsys)
    assert snapshot(tmp_path) == before


def test_empty_and_new_folders_and_reruns_are_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "audit.yaml"
    spec.write_text(SPEC)
    (tmp_path / "empty").mkdir()
    for out in ("empty", "new/nested"):
        succeeds(["run", str(spec), "--out", str(tmp_path / out)])
        succeeds(["run", str(spec), "--out", str(tmp_path / out)])  # the rerun of a run folder
        assert (tmp_path / out / ".nasaudit-run").is_file() and (tmp_path / out / "report.html").is_file()
    assert "already done, skipped" in capsys.readouterr().err


def test_a_run_folder_of_an_earlier_version_is_rerun(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run written before the marker existed (spec.json of a run, no marker) is still a run folder."""
    (run / ".nasaudit-run").unlink()
    succeeds(rerun(run))
    assert (run / ".nasaudit-run").is_file()
    succeeds(report(run))


def test_report_into_a_folder_that_is_not_a_run(tmp_path: Path, run: Path, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "report.html").write_text("their report")
    fails_with_one_line(["report", str(run / "results.sqlite"), "--run-dir", str(foreign)], "not a nasaudit run",
                        capsys)
    assert (foreign / "report.html").read_text() == "their report"


# ------------------------------------------------------------------ foreign databases
def _foreign_db(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        db.execute("INSERT INTO invoices (total) VALUES (12.5)")
    return path


def _tables_and_mode(path: Path) -> tuple[list[str], str]:
    with sqlite3.connect(path) as db:
        tables = sorted(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        return tables, db.execute("PRAGMA journal_mode").fetchone()[0]


@pytest.mark.parametrize("how", ["spec store", "report", "bench status"])
def test_a_foreign_sqlite_database_is_refused(how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = _foreign_db(tmp_path / "other.db")
    before = _tables_and_mode(other)
    if how == "spec store":
        spec = tmp_path / "audit.yaml"
        spec.write_text(SPEC + f"store: {other}\n")
        argv = ["run", str(spec), "--out", str(tmp_path / "run")]
    elif how == "report":
        argv = ["report", str(other)]
    else:
        argv = ["bench", "status", "--store", str(other)]
    fails_with_one_line(argv, "not a nasaudit results store", capsys)
    assert _tables_and_mode(other) == before == (["invoices"], "delete")


@pytest.mark.parametrize("content", [b"not a database at all" * 20, bytes(range(256)) * 8],
                         ids=["text", "binary"])
def test_a_file_that_is_not_sqlite_is_refused(content: bytes, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store.db"
    store.write_bytes(content)
    spec = tmp_path / "audit.yaml"
    spec.write_text(SPEC + f"store: {store}\n")
    fails_with_one_line(["run", str(spec), "--out", str(tmp_path / "run")], "store.db", capsys)
    assert store.read_bytes() == content


def test_create_store_adds_the_tables_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = _foreign_db(tmp_path / "other.db")
    spec = tmp_path / "audit.yaml"
    spec.write_text(SPEC + f"store: {other}\n")
    succeeds(["run", str(spec), "--out", str(tmp_path / "run"), "--create-store"])
    tables, _ = _tables_and_mode(other)
    assert "invoices" in tables and "experiment_results" in tables
    succeeds(["run", str(spec), "--out", str(tmp_path / "run")])  # now it is a nasaudit store too
    assert "already done, skipped" in capsys.readouterr().err
