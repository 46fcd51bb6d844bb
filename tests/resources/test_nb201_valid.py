"""The shipped NB201 CIFAR-10 validation table (single-path paper Sec. 3.2: search on validation, report test):
complete, aligned with the test table, the published facts, its provenance, and reachable from a table spec."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nasaudit.jobs.provenance import file_sha256
from nasaudit.metrics.correlation import kendall_tau
from nasaudit.resources import nb201_table_path, nb201_valid_table_path, table_path
from nasaudit.spaces import get_space
from nasaudit.studies.evaluators import TableEvaluatorSpec, _check_table, table_file
from nasaudit.truth import TabularBenchmark
from nasaudit.truth.shipped import NB201_VALID_COLUMNS

OPTIMUM = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def valid() -> TabularBenchmark:
    return TabularBenchmark.from_file(nb201_valid_table_path())


@pytest.fixture(scope="module")
def reported() -> TabularBenchmark:
    return TabularBenchmark.from_file(nb201_table_path())


def test_complete_and_aligned_with_the_test_table(valid: TabularBenchmark, reported: TabularBenchmark) -> None:
    assert len(valid) == 15_625
    assert valid.table["ArchitectureString"].tolist() == reported.table["ArchitectureString"].tolist()


def test_published_facts(valid: TabularBenchmark) -> None:
    scores = valid.scores("valid_acc", "cifar10")
    assert scores.max() == 91.60666665039064  # NAS-Bench-201's optimal CIFAR-10 validation accuracy, 91.61
    assert valid.archs()[int(np.argmax(scores))] == valid.space.parse(OPTIMUM)
    assert scores[0] == 81.98266665690103 and scores[1] == 90.76933332438152  # independent extracts agree
    assert np.array_equal(scores, valid.scores("valid_acc", "cifar10-valid"))


def test_valid_ranks_like_test(valid: TabularBenchmark, reported: TabularBenchmark) -> None:
    tau = kendall_tau(valid.scores("valid_acc", "cifar10"), reported.scores("test_acc", "cifar10"))
    assert 0.85 < tau < 0.95  # measured 0.892


def test_small_and_sidecar_matches_file() -> None:
    path = nb201_valid_table_path()
    assert path.stat().st_size < 2**20
    meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
    assert meta["sha256"] == file_sha256(path) and meta["bytes"] == path.stat().st_size
    assert meta["rows"] == 15_625 and meta["columns"] == list(NB201_VALID_COLUMNS)
    assert "Copyright (c) since 2020 Xuanyi Dong" in meta["licence_notice"]
    assert "a1aa24c257741db0a049e4f126be67ffb1adc2dc" in meta["source"]


def test_spec_nb201_valid_acc_reads_the_valid_table_and_test_acc_is_unchanged() -> None:
    space, here = get_space("nb201"), Path(".")
    spec = TableEvaluatorSpec(path="nb201", metric="valid_acc", dataset="cifar10")
    assert table_file(spec, here) == nb201_valid_table_path() and _check_table(spec, here, None) == []
    test_spec = TableEvaluatorSpec(path="nb201", metric="test_acc", dataset="cifar10")
    assert table_file(test_spec, here) == nb201_table_path() == table_path("nb201")
    [(where, message)] = _check_table(TableEvaluatorSpec(path="nb201", metric="valid_acc", dataset="cifar100"),
                                      here, space)
    assert where == ("metric",) and "valid_acc on cifar10" in message and "\n" not in message
    [(_, unknown)] = _check_table(TableEvaluatorSpec(path="nb201", metric="val_accuracy", dataset="cifar10"),
                                  here, space)
    assert "no column for metric 'val_accuracy'" in unknown and "\n" not in unknown
