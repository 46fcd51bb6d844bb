"""Export in the official formats: round trips through our own readers and the published strings."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from nasaudit.errors import ConfigError
from nasaudit.spaces.darts import DartsSpace
from nasaudit.spaces.nb101 import NB101Space, nb101_hash
from nasaudit.truth.export import export_nb101_records, export_nb201, export_nb301
from nasaudit.truth.nb101_records import EvaluationData, ModelMetrics, NB101Record, convert_nb101
from nasaudit.truth.surrogate import genotype_to_nb301_config, nb301_benchmark
from nasaudit.truth.tabular import TabularBenchmark
from nasaudit.truth.tfrecord import iter_records, write_records


def test_nb201_export_writes_the_published_strings(nb201_csv: Path, tmp_path: Path) -> None:
    original = pd.read_csv(nb201_csv)
    bench = TabularBenchmark.from_frame(original, "nb201", "ArchitectureString",
                                        ["CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs"])
    export_nb201(bench, tmp_path / "nb201.csv")
    written = pd.read_csv(tmp_path / "nb201.csv")
    assert written["arch"].tolist() == original["ArchitectureString"].tolist()
    assert written["CIFAR10TestAccuracy200Epochs"].tolist() == original["CIFAR10TestAccuracy200Epochs"].tolist()
    again = TabularBenchmark.from_file(tmp_path / "nb201.csv", arch_column="arch")
    assert again.archs() == bench.archs()
    with pytest.raises(ConfigError, match="needs a DARTS table"):
        export_nb301(bench, tmp_path / "x.csv")


def test_nb301_export_round_trips(tmp_path: Path) -> None:
    space = DartsSpace()
    folder = tmp_path / "nb_301_v13_lc_iclr_final" / "re"
    folder.mkdir(parents=True)
    for k, genotype in enumerate(space.sample_many(4, 3)):
        data = {"optimized_hyperparamater_config": genotype_to_nb301_config(genotype), "budget": 100,
                "runtime": 10.0, "test_accuracy": 90.0 + k,
                "info": [{"val_accuracy": 91.0 + k, "train_accuracy_final": 99.0, "model_parameters": 1e6}]}
        (folder / f"results_{k}.json").write_text(json.dumps(data))
    bench = nb301_benchmark(folder.parent)
    export_nb301(bench, tmp_path / "nb301.parquet")
    written = pd.read_parquet(tmp_path / "nb301.parquet")
    assert written["genotype"].str.startswith("Genotype(normal=[(").all()
    again = TabularBenchmark.from_file(tmp_path / "nb301.parquet", space, arch_column="genotype")
    assert again.archs() == bench.archs()
    assert again.scores("test_accuracy").tolist() == [90.0, 91.0, 92.0, 93.0]


def test_nb101_records_round_trip(tmp_path: Path) -> None:
    records = []
    for k, arch in enumerate(NB101Space(sampling="uniform").sample_many(5, 2)):
        for epochs in (4, 108):
            for repeat in range(3):
                final = EvaluationData(epochs, 10.0 * epochs + repeat, 0.99, 0.9 + k / 100, 0.89 + k / 100 + repeat / 1e3)
                half = EvaluationData(epochs / 2, 5.0 * epochs, 0.8, 0.7, 0.69)
                metrics = ModelMetrics((EvaluationData(0, 0, 0.1, 0.1, 0.1), half, final), 1000 + k, 123.4)
                records.append(NB101Record(nb101_hash(arch), epochs, arch.matrix, arch.ops, metrics))
    write_records(tmp_path / "a.tfrecord", (r.encode() for r in records))
    convert_nb101(tmp_path / "a.tfrecord", tmp_path / "a.parquet")
    assert export_nb101_records(tmp_path / "a.parquet", tmp_path / "b.tfrecord") == 30
    convert_nb101(tmp_path / "b.tfrecord", tmp_path / "b.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet"))
    for original, payload in zip(records, iter_records(tmp_path / "b.tfrecord"), strict=True):
        back = NB101Record.decode(payload)
        assert back.metrics.evaluation_data[1:] == original.metrics.evaluation_data[1:]
        assert (back.module_hash, back.matrix, back.operations) == (original.module_hash, original.matrix,
                                                                     original.operations)


def test_export_refuses_unknown_suffix(nb201_csv: Path, tmp_path: Path) -> None:
    bench = TabularBenchmark.from_file(nb201_csv)
    with pytest.raises(ConfigError, match=r"must end in \.csv or \.parquet"):
        export_nb201(bench, tmp_path / "x.txt")
    assert list(tmp_path.iterdir()) == []
