"""The shipped DARTS-space training benchmark: DARTS genotypes (sampled, PrimSkip groups, published, edited) with 3
seeds each, its recorded seed-to-seed tau recomputed from its per-seed columns, its tau-vs-CPU-hours curve, and the
surrogate fit on it (redundancy paper on the DARTS space, offline)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest

from nasaudit.analysis.published import published_genotype
from nasaudit.jobs.provenance import file_sha256
from nasaudit.resources import darts_benchmark_path, fashion_subset_path
from nasaudit.spaces import get_space
from nasaudit.spaces.constraints import PrimSkip
from nasaudit.truth import TabularBenchmark
from nasaudit.truth.shipped import seed_to_seed_tau


def _meta() -> dict:
    path = darts_benchmark_path()
    return json.loads(path.with_name(path.name + ".meta.json").read_text())


def test_loads_in_the_darts_space_with_three_seeds_and_every_kind_of_cell() -> None:
    space = get_space("darts")
    bench = TabularBenchmark.from_file(darts_benchmark_path(), space=space)
    meta = _meta()
    seeds = meta["seeds"]
    assert len(seeds) == 3 and len(bench) == meta["architectures"] >= 90
    per_seed = np.stack([bench.scores(f"test_acc_seed{s}") for s in seeds], axis=1)
    assert np.all((per_seed > 10) & (per_seed <= 100))  # all trained above chance on 10 classes
    archs = bench.archs()
    assert published_genotype("DARTS_V2") in archs
    assert sum(PrimSkip(space, "primskip").satisfied(a) for a in archs) >= 12
    assert meta["spec"]["dataset"] == "fashion8" and meta["dataset_resource"]["sha256"] == file_sha256(
        fashion_subset_path())


def test_recorded_tau_and_curve_are_those_of_its_runs() -> None:
    path, meta = darts_benchmark_path(), _meta()
    assert meta["sha256"] == file_sha256(path)
    table = pd.read_csv(path)
    per_seed = table[[f"test_acc_seed{s}" for s in meta["seeds"]]].to_numpy()
    assert meta["seed_to_seed_tau"]["whole"] == pytest.approx(seed_to_seed_tau(per_seed), abs=1e-12)
    assert meta["seed_to_seed_tau"]["whole"] > 0.4  # the goal is 0.5: README states the shortfall
    named = table["ArchitectureString"].isin(meta["spec"]["archs"]).to_numpy()
    groups = meta["seed_to_seed_tau"]["by_group"].values()
    assert [group["architectures"] for group in groups] == [meta["spec"]["sample"], int(named.sum())]
    assert [group["tau"] for group in groups] == pytest.approx(
        [seed_to_seed_tau(per_seed[~named]), seed_to_seed_tau(per_seed[named])], abs=1e-12)
    curve = meta["settings"]["tau_vs_cpu_hours"]
    assert [point["epochs"] for point in curve] == list(range(1, meta["spec"]["options"]["epochs"] + 1))
    assert curve[-1]["tau"] == pytest.approx(meta["seed_to_seed_tau"]["whole"], abs=1e-12)
    assert all(b["cpu_hours"] > a["cpu_hours"] for a, b in itertools.pairwise(curve))
    assert curve[-1]["cpu_hours"] <= 4.0  # the budget


def test_the_surrogate_fit_on_it_holds_out_every_row_and_states_the_ceiling(tmp_path) -> None:
    from nasaudit.audit.runner import Runner
    from nasaudit.audit.spec import spec_from_data

    spec = spec_from_data({"name": "d", "output": str(tmp_path / "run"), "space": {"name": "darts"},
                           "evaluators": {"darts": {"kind": "nb301_surrogate", "path": "darts_fashion",
                                                    "metric": "test_acc", "heldout": "kfold", "model": "gbt_ops",
                                                    "n_estimators": 50}},
                           "analyses": [{"kind": "nb301_surrogate", "evaluator": "darts"}]}, tmp_path)
    section = Runner(spec).run()[0]
    fit = pd.read_csv(tmp_path / "run" / "00-nb301_surrogate" / "nb301_surrogate.csv").iloc[0]
    assert fit["test"] == _meta()["architectures"] and fit["heldout"] == "10-fold"
    assert any("seed-to-seed Kendall tau is" in note for note in section.notes)


def test_op_counts_describe_each_cell() -> None:
    from nasaudit.truth.nb301_surrogate import op_count_features

    ops = get_space("darts").ops
    row = op_count_features([published_genotype("DARTS_V2")])[0]
    normal = dict(zip(ops, row[:len(ops)], strict=True))
    from_inputs = dict(zip(ops, row[len(ops):2 * len(ops)], strict=True))
    assert sum(normal.values()) == 8 and normal["sep_conv_3x3"] == 5 and normal["skip_connect"] == 2
    assert from_inputs["skip_connect"] == 2 and from_inputs["sep_conv_3x3"] == 5 and from_inputs["dil_conv_3x3"] == 0
