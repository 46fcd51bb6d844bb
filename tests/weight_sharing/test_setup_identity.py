"""A weight-sharing seed's identity: lists as JSON lists, and a setting added with ``absent_means`` keeps ids."""

from __future__ import annotations

import json
from dataclasses import field, make_dataclass

import pytest

from nasaudit.errors import ConfigError
from nasaudit.jobs.job import absent_means
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.jobs import WSJob, make_jobs
from nasaudit.weight_sharing.setup import WSSetup

ARCHS = ("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|nor_conv_3x3~2|",
         "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|")
SETUP = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), within=ARCHS, rank_archs=ARCHS[::-1], epochs=2)
DARTS = [get_method("darts_alpha"), get_method("darts_pt")]


def test_lists_are_json_lists_not_strings() -> None:
    options = dict(SETUP.to_options())
    assert options["mask"] == ["avg_pool_3x3", "none"]  # a set: sorted
    assert options["within"] == list(ARCHS) and options["rank_archs"] == list(ARCHS[::-1])
    assert not any(isinstance(v, str) and v.startswith("[") for v in options.values())
    assert WSSetup.from_options(json.loads(json.dumps(options))) == SETUP
    assert SETUP.masked == ("avg_pool_3x3", "none") and SETUP.within_archs == list(ARCHS)
    assert SETUP.ranked == list(ARCHS[::-1])
    for bad in ({"mask": "none,avg_pool_3x3"}, {"within": '["a"]'}, {"rank_archs": [1]}):
        with pytest.raises(ConfigError, match="must be a list of strings"):
            WSSetup(space="nb201", **bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown weight-sharing setting"):
        WSSetup.from_options({**options, "speed": 2})


def test_job_columns_and_id_hold_no_packed_strings() -> None:
    job = make_jobs("x", DARTS, SETUP, [0], None)[0]
    columns = job.columns()
    assert columns["key"] == "darts" and columns["params"]["methods"] == ["darts_alpha", "darts_pt"]
    assert columns["params"]["setup"]["within"] == list(ARCHS)
    assert columns["params"]["settings"] == {"darts_alpha": {}, "darts_pt": {"tune_epochs": 1}}
    # the mask's order does not matter; the ranked list's does
    reordered = WSSetup(space="nb201", mask=("avg_pool_3x3", "none"), within=ARCHS, rank_archs=ARCHS[::-1], epochs=2)
    assert make_jobs("x", DARTS, reordered, [0], None)[0].job_id == job.job_id
    flipped = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), within=ARCHS, rank_archs=ARCHS, epochs=2)
    assert make_jobs("x", DARTS, flipped, [0], None)[0].job_id != job.job_id


def test_a_seeds_identity_holds_the_settings_of_its_own_methods_only() -> None:
    spos, enas = get_method("spos_evolution"), get_method("enas")
    jobs = make_jobs("x", [spos, enas], SETUP, [0], None)
    assert [dict(job.settings) for job in jobs] == [{"spos_evolution": {"evolution_budget": 100}},
                                                    {"enas": {"controller_steps": 10, "controller_batch": 5,
                                                              "derive_samples": 100}}]
    cheaper = make_jobs("x", [get_method("spos_evolution", {"evolution_budget": 20}), enas], SETUP, [0], None)
    assert cheaper[0].job_id != jobs[0].job_id and cheaper[1].job_id == jobs[1].job_id
    assert "evolution_budget" not in SETUP.to_options()
    # a method's setting added later with absent_means keeps the ids of its stored seeds
    from pydantic import Field, create_model

    from nasaudit.weight_sharing.methods.spos import SposEvolution, SposSettings

    grown = create_model("Grown", __base__=SposSettings,
                         population=(int, Field(20, json_schema_extra=absent_means(20))))
    grown_spos = type("GrownSpos", (SposEvolution,), {"settings_model": grown})()  # no name: not registered
    assert make_jobs("x", [grown_spos], SETUP, [0], None)[0].job_id == jobs[0].job_id
    changed = type("GrownSpos", (SposEvolution,), {"settings_model": grown})({"population": 10})
    assert make_jobs("x", [changed], SETUP, [0], None)[0].job_id != jobs[0].job_id


def test_a_setting_added_with_absent_means_keeps_the_ids_of_stored_seeds() -> None:
    trainings = [get_method("spos_evolution"), get_method("enas")]
    stored = make_jobs("x", trainings, SETUP, [0, 1], None)
    grown_setup = make_dataclass("WSSetup", [("warmup_epochs", int, field(default=0, metadata=absent_means(0)))],
                                 bases=(WSSetup,), frozen=True)
    values = {k: getattr(SETUP, k) for k in SETUP.__dataclass_fields__}
    now = make_jobs("x", trainings, grown_setup(**values), [0, 1], None)
    assert [j.job_id for j in now] == [j.job_id for j in stored]
    assert make_jobs("x", trainings, grown_setup(**values, warmup_epochs=1), [0], None)[0].job_id != stored[0].job_id
    # a stored seed's options read back with the value its absence meant, whatever the default is now
    later = make_dataclass("WSSetup", [("warmup_epochs", int, field(default=3, metadata=absent_means(0)))],
                           bases=(WSSetup,), frozen=True)
    assert later.from_options(dict(stored[0].setup)).warmup_epochs == 0
    # and a new field on the job itself
    grown_job = make_dataclass("WSJob", [("fidelity", str, field(default="full", metadata=absent_means("full")))],
                               bases=(WSJob,), frozen=True)
    first = stored[0]
    assert grown_job(first.experiment, first.training, first.methods, first.seed, first.setup,
                     settings=first.settings).job_id == first.job_id
