"""`nasaudit run` on the real NB201 table: sections, store records, resume, report."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from nasaudit.cli.main import main
from nasaudit.experiments.runner import run_spec
from nasaudit.experiments.spec import load_spec
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
