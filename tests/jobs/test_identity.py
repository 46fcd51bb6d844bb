"""Job identity: canonical JSON of nested option values; a setting added with ``absent_means`` keeps stored ids."""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass, field, make_dataclass

import pytest

from nasaudit.errors import ConfigError
from nasaudit.jobs.job import (
    ExperimentJob,
    Options,
    absent_means,
    canonical_json,
    digest,
    freeze_options,
    from_identity,
    identity,
)


def test_canonical_json_is_sorted_compact_and_number_stable() -> None:
    value = {"b": [1, 2.0, (3, -0.0)], "a": {"z": 0.5, "y": True, "x": None}, "c": "é"}
    assert canonical_json(value) == '{"a":{"x":null,"y":true,"z":0.5},"b":[1,2,[3,0]],"c":"\\u00e9"}'
    assert canonical_json({"lr": 1.0}) == canonical_json({"lr": 1}) != canonical_json({"lr": 1.5})
    assert canonical_json([True]) != canonical_json([1])  # a bool is not the number 1
    assert canonical_json(float("inf")) == "Infinity"


def test_the_id_is_the_hash_of_the_canonical_json() -> None:
    job = ExperimentJob("e", "k", 3, {"masks": [["none"], []], "run": {"epochs": 2.0, "lr": 0.1}})
    text = '{"experiment":"e","key":"k","kind":"experiment_results","params":{"masks":[["none"],[]],' \
           '"run":{"epochs":2,"lr":0.1}},"seed":3}'
    assert job.job_id == hashlib.sha256(text.encode()).hexdigest()[:32]
    # order of keys, tuples for lists, 2 for 2.0: the same job
    same = ExperimentJob("e", "k", 3, (("run", {"lr": 0.1, "epochs": 2}), ("masks", (("none",), ()))))
    assert same == job and same.job_id == job.job_id and hash(same) == hash(job)
    assert ExperimentJob("e", "k", 3, {"masks": [["none"]], "run": {"epochs": 2, "lr": 0.1}}).job_id != job.job_id


def test_options_are_an_immutable_mapping_that_pickles() -> None:
    options = freeze_options({"archs": ["a", "b"], "sizes": {"channels": 8}})
    assert isinstance(options, Options) and dict(options) == {"archs": ["a", "b"], "sizes": {"channels": 8}}
    options["archs"].append("c")  # a copy: the frozen options do not change
    assert options["archs"] == ["a", "b"]
    with pytest.raises(AttributeError):
        options._data = {}  # type: ignore[misc]
    again = pickle.loads(pickle.dumps(options))
    assert again == options and dict(again) == dict(options)
    assert freeze_options({"lr": 1.0})["lr"] == 1.0 and isinstance(freeze_options({"lr": 1.0})["lr"], float)


@pytest.mark.parametrize("bad, message", [({"a": {1, 2}}, "options\\['a'\\] = .* is not a JSON value"),
                                          ({"a": {"b": {3: 1}}}, "options\\['a'\\]\\['b'\\] has a key 3"),
                                          (5, "must be a mapping"), ({"a": [[[]]]}, None)])
def test_bad_options_get_one_line(bad: object, message: str | None) -> None:
    if message is None:
        assert freeze_options(bad)["a"] == [[[]]]  # type: ignore[arg-type]
        return
    with pytest.raises(ConfigError, match=message) as err:
        freeze_options(bad)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_nesting_is_bounded() -> None:
    deep: list[object] = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(ConfigError, match="nests deeper than 64"):
        freeze_options({"a": deep})


@dataclass(frozen=True)
class Settings:
    name: str
    sizes: tuple[int, ...] = (8, 16)
    rate: float = 0.5


def test_a_setting_added_with_absent_means_keeps_ids() -> None:
    before = Settings("x")
    after_cls = make_dataclass("Settings", [("warmup", int, field(default=0, metadata=absent_means(0)))],
                               bases=(Settings,), frozen=True)
    after = after_cls("x")
    assert identity(after) == identity(before) == {"name": "x", "sizes": [8, 16], "rate": 0.5}
    assert digest("t", identity(after)) == digest("t", identity(before))
    assert identity(after_cls("x", warmup=2)) == {**identity(before), "warmup": 2}
    # a missing field reads back as what its absence meant, even when the default changed since
    later_cls = make_dataclass("Settings", [("warmup", int, field(default=5, metadata=absent_means(0)))],
                               bases=(Settings,), frozen=True)
    assert from_identity(later_cls, identity(before)).warmup == 0
    assert identity(later_cls("x")) == {**identity(before), "warmup": 5}  # the new default is a new job
    with pytest.raises(ConfigError, match="unknown Settings option\\(s\\) \\['speed'\\]"):
        from_identity(Settings, {"name": "x", "speed": 1})


def test_experiment_job_keeps_its_id_when_a_defaulted_field_is_added() -> None:
    base = ExperimentJob("e", "k", 1, {"budget": 10})
    grown = make_dataclass("ExperimentJob", [("fidelity", str, field(default="full", metadata=absent_means("full")))],
                           bases=(ExperimentJob,), frozen=True)
    assert grown("e", "k", 1, {"budget": 10}).job_id == base.job_id
    assert grown("e", "k", 1, {"budget": 10}, "half").job_id != base.job_id


def test_nested_options_round_trip_through_the_store(tmp_path) -> None:
    import time

    from nasaudit.jobs.job import JobResult, Outcome
    from nasaudit.jobs.store import ResultStore

    job = ExperimentJob("nested", "k", 0, {"setup": {"within": ["a", "b"], "sizes": {"channels": 8}}, "lr": 0.1})
    now = time.time()
    with ResultStore(tmp_path / "store.sqlite") as store:
        store.record(Outcome(job, "done", 1, now - 1, now, "host:1", result=JobResult({"v": 1})))
        row = store.experiment_results("nested").iloc[0]
        assert row.job_id == job.job_id and job.job_id in store.done_ids("experiment_results")
    assert row.params == {"setup": {"within": ["a", "b"], "sizes": {"channels": 8}}, "lr": 0.1}
    assert ExperimentJob(row.experiment, row.key, int(row.seed), row.params).job_id == job.job_id
