"""`nasaudit run` on the real NB201 table: sections, store records, resume, report."""

from __future__ import annotations

import json
import os

import pandas as pd
import pytest

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.cli.main import main
from nasaudit.report.build import report_from_store


@pytest.fixture
def spec_file(tmp_path, nb201_csv):
    path = tmp_path / "audit.yaml"
    path.write_text(f"""
name: nb201-tabular
seed: 3
output: run
evaluators:
  c10: {{kind: table, path: {nb201_csv}, metric: test_acc, dataset: cifar10}}
analyses:
  - {{kind: compare, evaluator: c10, strategies: [random, local], budget: 20, seeds: 5}}
  - {{kind: importance, evaluator: c10, top: 0.01}}
  - {{kind: subgraphs, evaluator: c10, top: 0.01}}
  - {{kind: primskip, evaluator: c10, samples: 10}}
  - {{kind: op_usage, evaluator: c10}}
  - {{kind: cell_shape}}
""")
    return path


def test_run_writes_every_section_and_resumes(spec_file, tmp_path):
    spec = load_spec(spec_file)
    report = run_spec(spec)
    run_dir = tmp_path / "run"
    assert report == run_dir / "report.html"
    html = report.read_text()
    for key in ("00-compare", "01-importance", "02-subgraphs", "03-primskip", "04-op_usage", "05-cell_shape"):
        section = json.loads((run_dir / key / "section.json").read_text())
        assert section["title"] and section["settings"]["seed"] == 3
        assert f'id="{key}"' in html
        for _, table in section["tables"]:
            assert (run_dir / table).is_file()
    summary = pd.read_csv(run_dir / "00-compare" / "summary.csv")
    assert list(summary["strategy"]) == ["random", "local"]
    assert html.count("data:image/png;base64,") >= 6
    assert "inside the PrimSkip group" in html
    # a second run resumes: nothing is recomputed, the files stay as they are
    before = (run_dir / "00-compare" / "summary.csv").stat().st_mtime_ns
    run_spec(spec)
    assert (run_dir / "00-compare" / "summary.csv").stat().st_mtime_ns == before
    # the report can be regenerated from the store alone
    (run_dir / "report.html").unlink()
    assert report_from_store(run_dir).is_file()


def test_cli_reports_spec_mistakes_without_running(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("space: {name: nb999}\nanalyses:\n  - {kind: compare, evaluator: none, budget: -1}\n")
    with pytest.raises(SystemExit) as done:
        main(["run", str(bad), "--out", str(tmp_path / "out")])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "nb999" in err and "budget" in err and "no evaluator named" in err
    assert not (tmp_path / "out").exists()


def _small_spec(tmp_path, table, metric: str) -> object:
    path = tmp_path / "small.yaml"
    path.write_text(f"""
name: keys
space: {{name: nb201, ops: [skip_connect, nor_conv_3x3]}}
output: run
evaluators:
  truth: {{kind: table, path: {table}, metric: {metric}}}
analyses:
  - {{kind: compare, evaluator: truth, strategies: [random], budget: 5, seeds: 2}}
""")
    return load_spec(path)


def _table(path, scale: float) -> None:
    from nasaudit.spaces import get_space

    archs = [str(a) for a in list(get_space("nb201").restrict(["skip_connect", "nor_conv_3x3"]).enumerate())]
    pd.DataFrame({"ArchitectureString": archs, "a": [i * scale for i in range(len(archs))],
                  "b": [-i * scale for i in range(len(archs))]}).to_csv(path, index=False)


def test_changing_an_evaluator_metric_or_file_content_reruns_the_study(tmp_path):
    """Regression (R2 1/7 bug 1): the key held evaluator names only, so a changed metric, path or file
    content was 'already done, skipped' and the report kept the old numbers."""
    table = tmp_path / "t.csv"
    _table(table, 1.0)
    run_spec(_small_spec(tmp_path, table, "a"))
    summary = tmp_path / "run" / "00-compare" / "summary.csv"
    first = pd.read_csv(summary)["mean"].iloc[0]
    run_spec(_small_spec(tmp_path, table, "b"))  # another metric
    second = pd.read_csv(summary)["mean"].iloc[0]
    assert second < 0 < first
    _table(table, 10.0)  # same path, new content
    run_spec(_small_spec(tmp_path, table, "b"))
    assert pd.read_csv(summary)["mean"].iloc[0] == pytest.approx(10 * second)
    # unchanged inputs: skipped (file untouched)
    before = summary.stat().st_mtime_ns
    run_spec(_small_spec(tmp_path, table, "b"))
    assert summary.stat().st_mtime_ns == before
    assert json.loads((tmp_path / "run" / "spec.json").read_text())["evaluators"]["truth"]["metric"] == "b"


def test_every_artefact_is_byte_identical_for_the_same_seed(tmp_path):
    """Hardening (R2 2/7 item 10): two runs of one spec write the same bytes, report included."""
    import hashlib

    spec = """
seed: 1
output: {out}
evaluators:
  t: {{kind: table, path: embedded, metric: test_acc}}
space: {{name: nb201, ops: [skip_connect, nor_conv_1x1, nor_conv_3x3]}}
analyses:
  - {{kind: compare, evaluator: t, strategies: [random, evolution], budget: 10, seeds: 3}}
  - {{kind: importance, evaluator: t}}
  - {{kind: subgraphs, evaluator: t}}
  - {{kind: primskip, evaluator: t, samples: 5}}
"""
    digests = []
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(spec.format(out=name))
        run_spec(load_spec(tmp_path / f"{name}.yaml"))
        files = sorted(p for p in (tmp_path / name).rglob("*") if p.is_file() and p.suffix in (".csv", ".png", ".html"))
        digests.append({str(p.relative_to(tmp_path / name)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
    assert digests[0] == digests[1] and any(k.endswith("report.html") for k in digests[0])


def test_result_warnings_become_notes_of_their_section(tmp_path, monkeypatch):
    import warnings

    from nasaudit.errors import ResultWarning
    from nasaudit.studies import study_entry

    entry = study_entry("cell_shape")
    original = entry.run

    def run_with_caveat(context, spec):
        for _ in range(2):
            warnings.warn("the samples are nearly identical", ResultWarning, stacklevel=1)
        return original(context, spec)

    import dataclasses

    monkeypatch.setattr("nasaudit.audit.runner.study_entry",
                        lambda kind: dataclasses.replace(entry, run=run_with_caveat))
    path = tmp_path / "audit.yaml"
    path.write_text("name: caveat\noutput: run\nanalyses:\n  - {kind: cell_shape}\n")
    run_spec(load_spec(path))
    section = json.loads((tmp_path / "run" / "00-cell_shape" / "section.json").read_text())
    assert "Caveat: the samples are nearly identical (2 times)" in section["notes"]
    assert "Caveat: the samples are nearly identical" in (tmp_path / "run" / "report.html").read_text()


def _two_process_spec(tmp_path):
    spec = tmp_path / "twice.yaml"
    spec.write_text("""
name: twice
seed: 2
output: run
evaluators:
  t: {kind: table, path: embedded, metric: test_acc}
space: {name: nb201, ops: [skip_connect, nor_conv_1x1, nor_conv_3x3]}
analyses:
  - {kind: compare, evaluator: t, strategies: [random, local], budget: 10, seeds: 3}
  - {kind: importance, evaluator: t}
  - {kind: cell_shape}
""")
    return spec


def _start(spec):
    import subprocess
    import sys

    return subprocess.Popen([sys.executable, "-m", "nasaudit.cli.main", "run", str(spec)], cwd=spec.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _read_until(process, text: str) -> list[str]:
    """Lines of ``process``'s stderr up to the first holding ``text`` (or all of them when it ends first)."""
    lines = []
    for line in process.stderr:
        lines.append(line)
        if text in line:
            break
    return lines


def test_two_runs_of_one_spec_at_once_compute_each_study_once(tmp_path):
    """Issue #22 item 14: a second `nasaudit run` of a spec another run is computing waits for that run's study
    (claimed with a lease in the store) instead of computing it too and deleting the folder the first one writes.
    The first run is paused (SIGSTOP) while it computes a study, so the two overlap on any machine."""
    import signal
    import threading

    spec = _two_process_spec(tmp_path)
    first = _start(spec)
    second = None
    watchdog = threading.Timer(300, lambda: [p.kill() for p in (first, second) if p is not None])
    watchdog.start()
    try:
        lines_first = _read_until(first, "00-compare: running")
        assert "00-compare: running" in lines_first[-1], lines_first
        os.kill(first.pid, signal.SIGSTOP)
        try:
            second = _start(spec)
            lines_second = _read_until(second, "waiting")
        finally:
            os.kill(first.pid, signal.SIGCONT)
        out_first, err_first = first.communicate()
        out_second, err_second = second.communicate()
    finally:
        watchdog.cancel()
    log_first, log_second = "".join(lines_first) + err_first, "".join(lines_second) + err_second
    assert first.returncode == 0 and second.returncode == 0, (log_first, log_second)
    assert "another nasaudit run" in log_second and "waiting" in log_second
    for key in ("00-compare", "01-importance", "02-cell_shape"):
        assert (log_first + log_second).count(f"{key}: running") == 1, (key, log_first, log_second)
    assert "report:" in out_first and "report:" in out_second
    run = tmp_path / "run"
    assert not list(run.glob(".partial-*"))
    for key in ("00-compare", "01-importance", "02-cell_shape"):
        assert (run / key / "section.json").is_file()
    from nasaudit.jobs.store import ResultStore

    with ResultStore(run / "results.sqlite") as store:
        rows = store.experiment_results()
        assert sorted(rows["status"]) == ["done"] * 3
        assert store.claim_holder(rows["job_id"].iloc[0]) is None  # claims released


def test_a_run_killed_mid_study_is_taken_over_at_once(tmp_path):
    """The claim of a run killed with -9 belongs to a dead process of this host: the next run takes the study
    over without waiting for the lease to expire, and removes the killed run's half-written folder."""
    import signal

    spec = _two_process_spec(tmp_path)
    first = _start(spec)
    assert "00-compare: running" in _read_until(first, "00-compare: running")[-1]
    os.kill(first.pid, signal.SIGKILL)
    first.communicate()
    assert list((tmp_path / "run").glob(".partial-00-compare-*"))
    second = _start(spec)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "waiting" not in err and err.count(": running") == 3
    assert not list((tmp_path / "run").glob(".partial-*"))


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_bars_only_on_a_terminal(tmp_path, terminal):
    import io

    from rich.console import Console

    from nasaudit.audit.runner import Runner

    path = tmp_path / "audit.yaml"
    path.write_text("name: bars\noutput: run\nanalyses:\n  - {kind: cell_shape}\n")
    screen = io.StringIO()
    runner = Runner(load_spec(path), Console(file=screen, force_terminal=terminal, width=120))
    assert runner.progress is terminal
    runner.run()
    runner.store.close()
    text = screen.getvalue()
    assert ("ETA" in text and "study 00-cell_shape" in text) is terminal
    assert "00-cell_shape" in text  # the plain messages either way
