"""The shipped NB201 table: complete, the published facts, identical to the source CSV, with provenance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.errors import DataError
from nasaudit.jobs.provenance import file_sha256
from nasaudit.resources import nb201_table_path
from nasaudit.truth import TabularBenchmark
from nasaudit.truth.shipped import NB201_COLUMNS, write_nb201_table


@pytest.fixture(scope="module")
def bench() -> TabularBenchmark:
    return TabularBenchmark.from_file(nb201_table_path())


def test_published_facts(bench: TabularBenchmark) -> None:
    assert len(bench) == 15_625
    assert round(bench.scores("test_acc", "cifar10").max(), 2) == 94.37
    assert round(bench.scores("test_acc", "cifar100").max(), 2) == 73.51
    assert round(bench.scores("test_acc", "imagenet16-120").max(), 2) == 47.31
    assert round(bench.scores("test_acc", "cifar10").mean(), 2) == 87.06
    assert len(set(bench.canonical_keys())) == 6_466
    assert len(bench.deisomorphised()) == 6_466


def test_small_and_sidecar_matches_file() -> None:
    path = nb201_table_path()
    assert path.stat().st_size < 2**20
    meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
    assert meta["sha256"] == file_sha256(path) and meta["bytes"] == path.stat().st_size
    assert meta["rows"] == 15_625 and meta["classes"] == 6_466 and meta["columns"] == list(NB201_COLUMNS)
    assert "Copyright (c) since 2020 Xuanyi Dong" in meta["licence_notice"]
    assert "MIT License" in meta["licence_notice"]


def test_identical_to_source_csv(nb201_csv: Path, bench: TabularBenchmark) -> None:
    source = pd.read_csv(nb201_csv)
    shipped = pd.read_csv(nb201_table_path())
    assert shipped["ArchitectureString"].tolist() == source["ArchitectureString"].tolist()
    for column in NB201_COLUMNS[1:]:
        assert np.array_equal(shipped[column].to_numpy(), source[column].to_numpy())  # bit-identical
    # the dropped UniqueString is exactly our canonical key
    assert bench.canonical_keys().tolist() == source["UniqueString"].tolist()
    meta = json.loads(nb201_table_path().with_name(nb201_table_path().name + ".meta.json").read_text())
    assert meta["source_sha256"] == file_sha256(nb201_csv)


def test_writer_refuses_a_wrong_canonical_key(nb201_csv: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(nb201_csv).head(50)
    frame.loc[3, "UniqueString"] = "0"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    with pytest.raises(DataError, match="UniqueString"):
        write_nb201_table(bad, tmp_path / "out.csv.xz")
    good = tmp_path / "good.csv"
    pd.read_csv(nb201_csv).head(50).to_csv(good, index=False)
    table = write_nb201_table(good, tmp_path / "good.csv.xz")
    assert TabularBenchmark.from_file(tmp_path / "good.csv.xz").table.shape == (50, 4) == table.shape
