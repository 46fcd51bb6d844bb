"""NB301 training-set loader on tiny files in the release's layout (<optimizer>/results_<n>.json, conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nasaudit.analysis.published import published_genotype
from nasaudit.errors import DataError
from nasaudit.spaces.darts import DartsSpace
from nasaudit.truth.surrogate import (
    NB301_KEY_PREFIX,
    genotype_to_nb301_config,
    nb301_benchmark,
    nb301_config_to_genotype,
    read_nb301_results,
)

from .conftest import result_json


def test_darts_v2_config_keys_follow_the_official_edge_numbering() -> None:
    genotype = published_genotype("DARTS_V2")
    config = genotype_to_nb301_config(genotype)
    p = NB301_KEY_PREFIX
    # node 4 of the normal cell is ('skip_connect', 0), ('sep_conv_3x3', 1): mixed edges 5 and 6
    assert config[f"{p}edge_normal_5"] == "skip_connect" and config[f"{p}edge_normal_6"] == "sep_conv_3x3"
    assert config[f"{p}inputs_node_normal_4"] == "0_1"
    # node 5: ('skip_connect', 0), ('dil_conv_3x3', 2): mixed edges 9 and 11
    assert config[f"{p}edge_normal_9"] == "skip_connect" and config[f"{p}edge_normal_11"] == "dil_conv_3x3"
    assert config[f"{p}inputs_node_normal_5"] == "0_2"
    assert len([k for k in config if "edge_" in k]) == 16
    assert nb301_config_to_genotype(config).normal == genotype.normal.sorted()


def test_reads_the_folder_layout_and_averages_duplicates(tmp_path: Path) -> None:
    space = DartsSpace()
    genotypes = [g.__class__(g.normal.sorted(), g.reduce.sorted()) for g in space.sample_many(5, 7)]
    for k, genotype in enumerate(genotypes):
        folder = tmp_path / ("random_ws" if k < 3 else "bananas")
        folder.mkdir(exist_ok=True)
        (folder / f"results_{k}.json").write_text(json.dumps(result_json(genotype_to_nb301_config(genotype),
                                                                        90.0 + k, 89.0 + k)))
    (tmp_path / "bananas" / "results_9.json").write_text(json.dumps(result_json(
        genotype_to_nb301_config(genotypes[4]), 95.0, 94.0)))
    table = read_nb301_results(tmp_path)
    assert len(table) == 6 and set(table["optimizer"]) == {"random_ws", "bananas"}
    assert sorted(table["genotype"].unique()) == sorted(space.format(g) for g in genotypes)
    assert table.loc[table["file"] == "random_ws/results_1.json", "val_accuracy"].item() == 91.0
    bench = nb301_benchmark(tmp_path)
    assert len(bench) == 5
    assert bench.query([genotypes[4]], "val_accuracy")[0] == pytest.approx((94.0 + 95.0) / 2)
    assert bench.query([genotypes[0]], "test_accuracy")[0] == 89.0


def test_bad_files_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no <optimizer>/<name>\.json"):
        read_nb301_results(tmp_path)
    (tmp_path / "re").mkdir()
    config = genotype_to_nb301_config(DartsSpace().sample(0))
    del config[f"{NB301_KEY_PREFIX}edge_reduce_0"]
    (tmp_path / "re" / "results_0.json").write_text(json.dumps(result_json(config, 90.0, 89.0)))
    with pytest.raises(DataError, match="reduce node 2 has 1 edges"):
        read_nb301_results(tmp_path)
