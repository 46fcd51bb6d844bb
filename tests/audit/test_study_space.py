"""A study's own ``space``: one audit covers NB201 and DARTS, each study with evaluators built in its space."""

from __future__ import annotations

import json

import pytest
import yaml

from nasaudit.audit.runner import Runner, run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.errors import ConfigError

from ..truth.conftest import write_nb301_folder


def _spec(tmp_path, nb201_csv, darts_study: dict) -> object:
    folder = write_nb301_folder(tmp_path / "nb301", n=40)
    path = tmp_path / "audit.yaml"
    path.write_text(yaml.safe_dump({
        "name": "two-spaces", "seed": 1, "output": "run",
        "evaluators": {"c10": {"kind": "table", "path": str(nb201_csv), "metric": "test_acc", "dataset": "cifar10"},
                       "nb301": {"kind": "nb301_surrogate", "path": str(folder), "n_estimators": 20}},
        "analyses": [{"kind": "primskip", "evaluator": "c10", "samples": 5}, darts_study,
                     {"kind": "op_usage", "evaluator": "c10"}],
    }))
    return load_spec(path)


def test_a_study_runs_in_its_own_space_beside_the_audits(tmp_path, nb201_csv):
    spec = _spec(tmp_path, nb201_csv, {"kind": "primskip", "evaluator": "nb301", "samples": 5,
                                       "space": {"name": "darts"}})
    run_spec(spec)
    run = tmp_path / "run"
    nb201 = json.loads((run / "00-primskip" / "section.json").read_text())
    darts = json.loads((run / "01-primskip" / "section.json").read_text())
    assert "inside the PrimSkip group" in " ".join(nb201["notes"])  # NB201 is small enough to locate its optimum
    assert "PrimSkip group" not in " ".join(darts["notes"][2:])  # DARTS is not: no optimum is located there
    samples = (run / "01-primskip" / "samples.csv").read_text()
    assert "Genotype(normal=" in samples and "|nor_conv" not in samples
    assert (run / "02-op_usage" / "section.json").is_file()
    runner = Runner(spec)
    keys = [runner.study_key(study) for study in spec.analyses]
    assert keys[0]["space"]["name"] == keys[2]["space"]["name"] == "nb201"
    assert keys[1]["space"]["name"] == keys[1]["study"]["space"]["name"] == "darts"
    assert "space" not in keys[0]["study"]  # absent means the audit's: keys stored before the field are unchanged


def test_a_study_space_is_checked_with_the_spec(tmp_path, nb201_csv):
    with pytest.raises(ConfigError, match=r"analyses\.1\.space\.name.*no space 'dartz'|analyses\.1\.space\.name"):
        _spec(tmp_path, nb201_csv, {"kind": "primskip", "evaluator": "nb301", "space": {"name": "dartz"}})


def test_an_evaluator_is_checked_in_the_space_of_its_readers(tmp_path, nb201_csv):
    """The NB301 surrogate needs a DARTS space: read by an NB201 study it is refused, by a DARTS study it is not."""
    with pytest.raises(ConfigError, match="nb301"):
        _spec(tmp_path, nb201_csv, {"kind": "primskip", "evaluator": "nb301"})
