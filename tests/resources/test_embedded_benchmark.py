"""The embedded mini-benchmark: loads as a benchmark, carries its provenance, stays small."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from nasaudit.resources import embedded_benchmark_path
from nasaudit.spaces import get_space
from nasaudit.truth import TabularBenchmark
from nasaudit.truth.builder import seed_agreement

MINI_OPS = ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]


def test_table_is_small_complete_and_answers_every_arch_of_its_space():
    path = embedded_benchmark_path()
    assert path.stat().st_size < 3 * 2**20
    space = get_space("nb201").restrict(MINI_OPS)
    table = TabularBenchmark.from_file(path, space=space)
    assert len(table) == len({space.canonical(a) for a in space.enumerate()}) == 496
    scores = table.evaluator("test_acc", resolve="canonical").evaluate(list(space.enumerate()))
    assert scores.shape == (729,) and np.all((scores > 10) & (scores <= 100))


def test_provenance_and_seed_agreement_are_recorded():
    path = embedded_benchmark_path()
    meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
    assert "nasaudit bench build" in meta["build_command"]
    agreement = meta["seed_agreement"]
    recomputed = seed_agreement(pd.read_csv(path), "test_acc")
    assert np.isclose(agreement["mean_tau"], recomputed.mean_tau)
    assert agreement["architectures"] == 496 and len(agreement["kendall_tau"]) >= 1
