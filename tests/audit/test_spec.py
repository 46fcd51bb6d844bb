"""Experiment specs: every mistake reported at once with its place, before any compute."""

from __future__ import annotations

import pytest

from nasaudit.audit.spec import load_spec
from nasaudit.errors import ConfigError
from nasaudit.resources import default_spec_path

BAD_SPEC = """\
name: broken
space:
  name: nb999
evaluators:
  truth:
    kind: table
    path: missing.csv
    metric: test_acc
  sur:
    kind: surrogate
    fit_on: nothing
analyses:
  - kind: compare
    evaluator: truth
    strategies: [random, evolutoin]
    budget: -5
  - kind: importance
    evaluator: trth
    top: 2
  - kind: frobnicate
executor:
  kind: slurm
  colour: blue
"""


def test_every_mistake_is_listed_with_its_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_SPEC)
    with pytest.raises(ConfigError) as caught:
        load_spec(path)
    text = str(caught.value)
    expected = [
        ("line 3", "unknown search space 'nb999'"),
        ("line 7", "file not found"),
        ("line 11", "no evaluator named 'nothing'"),
        ("line 15", "unknown strategy 'evolutoin'"),
        ("line 16", "greater than 0"),
        ("line 18", "no evaluator named 'trth'"),
        ("line 19", "less than or equal to 1"),
        ("line 20", "unknown kind 'frobnicate'"),
        ("line 22", "'sequential', 'processes' or 'ray'"),
        ("line 23", "unknown setting"),
    ]
    for line, message in expected:
        assert any(line in row and message in row for row in text.splitlines()), (line, message, text)
    assert "10 problem(s)" in text and "nothing was run" in text


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("analyses: [\n  {kind: compare", "invalid YAML at line"),
        ("- just a list", "mapping at the top level"),
        ("name: x\n", "analyses"),
    ],
)
def test_malformed_files(tmp_path, content, fragment):
    path = tmp_path / "spec.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=fragment):
        load_spec(path)


def test_missing_spec_file(tmp_path):
    with pytest.raises(ConfigError, match="spec file not found"):
        load_spec(tmp_path / "nope.yaml")


def test_the_default_spec_is_valid():
    spec = load_spec(default_spec_path())
    assert spec.space.name == "nb201" and spec.space.ops is None
    assert {e.path for e in spec.evaluators.values() if e.kind == "table"} == {"nb201", "fashion"}
    assert {a.kind for a in spec.analyses} >= {"compare", "supernet_ranking", "importance", "subgraphs", "primskip"}


def test_paths_resolve_relative_to_the_spec(tmp_path, nb201_csv):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "spec.yaml"
    path.write_text(f"evaluators:\n  t: {{kind: table, path: {nb201_csv}, metric: test_acc, dataset: cifar10}}\n"
                    "analyses:\n  - {kind: op_usage, evaluator: t}\n")
    spec = load_spec(path)
    assert spec.resolve("x.csv") == tmp_path / "sub" / "x.csv"


def test_metric_dataset_and_supernet_dataset_are_checked_before_anything_runs(tmp_path, nb201_csv):
    """Regression (R2 1/7 bug 2): these loaded fine and failed only when first used."""
    path = tmp_path / "late.yaml"
    path.write_text(f"""
evaluators:
  a: {{kind: table, path: {nb201_csv}, metric: bogus}}
  b: {{kind: table, path: {nb201_csv}, metric: test_acc, dataset: nowhere}}
  ws: {{kind: supernet, dataset: cifar11}}
analyses:
  - {{kind: importance, evaluator: a}}
""")
    with pytest.raises(ConfigError) as err:
        load_spec(path)
    text = str(err.value)
    assert "3 problem(s)" in text
    assert "unknown metric 'bogus'" in text and "'nowhere'" in text
    assert "unknown dataset 'cifar11' (did you mean 'cifar10'?)" in text


def test_evaluator_names_cannot_escape_the_run_folder(tmp_path):
    path = tmp_path / "names.yaml"
    path.write_text("evaluators:\n  ../../x: {kind: supernet}\nanalyses:\n  - {kind: cell_shape}\n")
    with pytest.raises(ConfigError, match="evaluator name"):
        load_spec(path)
