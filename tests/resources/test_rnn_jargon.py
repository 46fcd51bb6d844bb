"""The shipped reduced-RNN-space benchmark ``rnn_jargon``: all 32 cells of ``rnn_reduced`` trained as language
models on the Jargon File with several seeds (search-phase paper Sec. 4.2, Table 3A truth at CPU size), loadable by
name, with the seed-to-seed tau of its sidecar recomputed from its own per-seed columns."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau

from nasaudit.resources import PACKAGED_TABLES, rnn_benchmark_path, table_path
from nasaudit.spaces import get_space
from nasaudit.truth import TabularBenchmark
from nasaudit.truth.builder import read_metadata


def test_loads_by_name_as_the_truth_of_all_32_reduced_cells() -> None:
    assert PACKAGED_TABLES["rnn_jargon"] == rnn_benchmark_path().name
    space = get_space("rnn_reduced")
    bench = TabularBenchmark.from_file(table_path("rnn_jargon"), space=space)
    assert len(bench) == 32 and set(bench.archs()) == set(space.enumerate())
    scores = bench.evaluator("test_score").evaluate(bench.archs())
    assert np.all(np.isfinite(scores)) and np.all(scores < 0)  # minus the mean NLL per token
    meta = read_metadata(rnn_benchmark_path())
    assert meta["spec"]["space"] == "rnn_reduced" and meta["spec"]["dataset"] == "jargon"
    assert len(meta["seeds"]) >= 3 and meta["architectures"] == 32 and meta["architectures_left_out"] == 0


def test_the_sidecar_tau_is_the_tau_of_its_per_seed_columns() -> None:
    path = rnn_benchmark_path()
    meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
    agreement = meta["seed_agreement"]
    assert agreement["metric"] == "test_score"
    table = pd.read_csv(path)
    columns = [f"test_score_seed{seed}" for seed in meta["seeds"]]
    taus = {f"{a.rsplit('seed', 1)[1]}-{b.rsplit('seed', 1)[1]}": kendalltau(table[a], table[b]).statistic
            for a, b in itertools.combinations(columns, 2)}
    assert agreement["kendall_tau"] == pytest.approx(taus, abs=1e-12)
    assert agreement["mean_tau"] == pytest.approx(np.mean(list(taus.values())), abs=1e-12)
    assert table["test_score"].to_numpy() == pytest.approx(table[columns].mean(axis=1).to_numpy(), abs=1e-12)
