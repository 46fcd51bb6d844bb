"""The store record of an audit's study: its id is the canonical JSON of the nested study key, and a study setting
added with ``absent_means`` does not rerun the studies already done."""

from __future__ import annotations

import hashlib
import json

from pydantic import Field, create_model

from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import load_spec
from nasaudit.jobs.job import absent_means, canonical_json


def _runner(tmp_path, embedded_csv: str) -> Runner:
    path = tmp_path / "audit.yaml"
    path.write_text(f"""
name: identity
seed: 3
output: run
evaluators:
  c10: {{kind: table, path: {embedded_csv}, metric: test_acc}}
analyses:
  - {{kind: compare, evaluator: c10, strategies: [random], budget: 5, seeds: 2}}
""")
    return Runner(load_spec(path))


def test_study_job_keeps_its_id_when_a_defaulted_setting_is_added(tmp_path) -> None:
    from nasaudit.resources import embedded_benchmark_path

    runner = _runner(tmp_path, str(embedded_benchmark_path()))
    study = runner.spec.analyses[0]
    job = runner.study_job("00-compare", study)
    key = dict(job.params)["key"]
    assert isinstance(key, dict) and key["study"]["strategies"] == ["random"]  # nested, not a JSON string
    text = canonical_json({"kind": job.table, "experiment": job.experiment, "key": job.key, "seed": job.seed,
                           "params": {"key": key}})
    assert job.job_id == hashlib.sha256(text.encode()).hexdigest()[:32]

    grown = create_model(type(study).__name__, __base__=type(study),
                         patience=(int, Field(default=0, json_schema_extra=absent_means(0))))
    values = study.model_dump()
    assert runner.study_job("00-compare", grown(**values)).job_id == job.job_id
    assert runner.study_job("00-compare", grown(**values, patience=4)).job_id != job.job_id
    changed = type(study)(**{**values, "budget": 6})
    assert runner.study_job("00-compare", changed).job_id != job.job_id
    assert json.loads(json.dumps(key)) == key
