"""NB101 records without TensorFlow: protobuf round trips, the official payload layout, conversion to a table."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.errors import DataError
from nasaudit.spaces.nb101 import NB101Arch, NB101Space, nb101_hash
from nasaudit.truth.nb101_records import (
    NB101_COLUMNS,
    EvaluationData,
    ModelMetrics,
    NB101Record,
    aggregate_nb101,
    convert_nb101,
    encode_varint,
    iter_fields,
    nb101_benchmark,
    read_varint,
)
from nasaudit.truth.tfrecord import write_records

BUDGETS = (4, 12, 36, 108)


def make_records(n_cells: int, seed: int = 0, budgets: tuple[int, ...] = BUDGETS,
                 repeats: int = 3, archs: list[NB101Arch] | None = None) -> list[NB101Record]:
    """Records in the official layout for ``n_cells`` random cells, or for ``archs`` (values drawn from ``seed``)."""
    rng = np.random.default_rng(seed)
    records = []
    for arch in archs if archs is not None else NB101Space(sampling="uniform").sample_many(n_cells, rng):
        quality = rng.uniform(0.5, 0.95)
        params = int(rng.integers(200_000, 40_000_000))
        for epochs in budgets:
            for _ in range(repeats):
                evals = tuple(EvaluationData(
                    current_epoch=float(epochs * part), training_time=float(epochs * part * rng.uniform(5, 10)),
                    train_accuracy=float(min(1.0, quality * part + rng.normal(0, 0.01) + 0.05)),
                    validation_accuracy=float(quality * (0.6 + 0.4 * part) * epochs / (epochs + 4) + rng.normal(0, 0.005)),
                    test_accuracy=float(quality * (0.6 + 0.4 * part) * epochs / (epochs + 4) + rng.normal(0, 0.005)),
                ) for part in (0.0, 0.5, 1.0))
                metrics = ModelMetrics(evals, params, float(rng.uniform(100, 5000)))
                records.append(NB101Record(nb101_hash(arch), epochs, arch.matrix, arch.ops, metrics))
    return records


def write_nb101(path: Path, records: list[NB101Record]) -> Path:
    write_records(path, (r.encode() for r in records))
    return path


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**31 - 1, 2**63, -1])
def test_varint_round_trip(value: int) -> None:
    data = encode_varint(value)
    assert read_varint(data, 0) == (value % 2**64, len(data))
    assert len(encode_varint(-1)) == 10


def test_metrics_round_trip_and_wire_layout() -> None:
    data = EvaluationData(1.5, 2.0, 0.25, 0.5, 0.75, "/ckpt/model.ckpt-12")
    metrics = ModelMetrics((EvaluationData(), data), 2_694_282, 1234.5)
    raw = metrics.encode()
    assert ModelMetrics.decode(raw) == metrics
    fields = list(iter_fields(raw))
    assert [(n, w) for n, w, _ in fields] == [(1, 2), (1, 2), (2, 0), (3, 1)]
    assert fields[2][2] == 2_694_282
    inner = list(iter_fields(fields[1][2]))  # type: ignore[arg-type]
    assert [(n, w) for n, w, _ in inner] == [(1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 2)]
    assert inner[5][2] == b"/ckpt/model.ckpt-12"


def test_decoder_skips_unknown_fields_and_reads_missing_as_defaults() -> None:
    unknown = encode_varint(9 << 3 | 0) + encode_varint(5) + encode_varint(10 << 3 | 5) + b"\x00\x00\x80\x3f"
    raw = unknown + encode_varint(1 << 3 | 2) + encode_varint(9) + encode_varint(4 << 3 | 1) + np.float64(0.9).tobytes()
    assert ModelMetrics.decode(raw) == ModelMetrics((EvaluationData(validation_accuracy=0.9),), 0, 0.0)


def test_payload_is_the_official_json_layout() -> None:
    record = make_records(1, budgets=(108,), repeats=1)[0]
    module_hash, epochs, adjacency, operations, metrics = json.loads(record.encode())
    n = len(record.operations)
    assert (module_hash, epochs) == (record.module_hash, 108)
    assert len(adjacency) == n * n and set(adjacency) <= {"0", "1"}
    assert operations.split(",") == list(record.operations)
    assert ModelMetrics.decode(base64.b64decode(metrics)) == record.metrics
    assert NB101Record.decode(record.encode()) == record


def test_convert_round_trips_every_field(tmp_path: Path) -> None:
    records = make_records(6)
    source = write_nb101(tmp_path / "nb.tfrecord", records)
    for name in ("table.csv", "table.parquet"):
        summary = convert_nb101(source, tmp_path / name)
        assert (summary.records, summary.rows, summary.unique_cells) == (72, 72, 6)
        assert summary.budgets == BUDGETS and summary.hash_mismatches == 0
        table = pd.read_csv(tmp_path / name) if name.endswith(".csv") else pd.read_parquet(tmp_path / name)
        assert list(table.columns) == list(NB101_COLUMNS)
        for (_, row), record in zip(table.iterrows(), records, strict=True):
            space = NB101Space()
            arch = space.parse(row["arch"])
            assert (arch.matrix, arch.ops) == (record.matrix, record.operations)
            assert row["module_hash"] == record.module_hash == space.canonical(arch)
            assert row["epochs"] == record.epochs and row["n_vertices"] == len(record.operations)
            assert row["trainable_parameters"] == record.metrics.trainable_parameters
            for phase, evaluation in (("halfway", record.metrics.evaluation_data[1]),
                                      ("final", record.metrics.evaluation_data[2])):
                for name_ in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy"):
                    assert row[f"{phase}_{name_}"] == getattr(evaluation, name_)  # exact: CSV keeps 17 digits
        repeats = table.groupby(["module_hash", "epochs"])["repeat"].apply(lambda r: tuple(sorted(r)))
        assert set(repeats) == {(0, 1, 2)}


def test_hash_mismatches_are_counted_and_unpruned_cells_join(tmp_path: Path) -> None:
    good, other = make_records(2, budgets=(108,), repeats=1)
    n = len(good.operations)
    padded = np.zeros((n + 1, n + 1), dtype=int)  # a dangling conv vertex that pruning removes
    padded[:n - 1, :n - 1] = np.array(good.matrix)[:n - 1, :n - 1]
    padded[:n - 1, n] = np.array(good.matrix)[:n - 1, n - 1]
    padded[0, n - 1] = 1
    ops = (*good.operations[:-1], "conv3x3-bn-relu", "output")
    unpruned = NB101Record(good.module_hash, 108, tuple(map(tuple, padded.tolist())), ops, good.metrics)
    wrong = NB101Record("0" * 32, 108, other.matrix, other.operations, other.metrics)
    source = write_nb101(tmp_path / "nb.tfrecord", [unpruned, wrong])
    summary = convert_nb101(source, tmp_path / "t.csv")
    assert summary.hash_mismatches == 1
    table = pd.read_csv(tmp_path / "t.csv")
    assert table["hash_matches"].tolist() == [True, False]
    assert table["n_vertices"].tolist()[0] == n


def test_crc_error_is_reported_with_offset_and_nothing_is_written(tmp_path: Path) -> None:
    records = make_records(2, budgets=(108,), repeats=1)
    source = write_nb101(tmp_path / "nb.tfrecord", records)
    raw = bytearray(source.read_bytes())
    second = 16 + len(records[0].encode())
    raw[second + 20] ^= 0xFF
    source.write_bytes(bytes(raw))
    with pytest.raises(DataError, match=f"record 1 at byte offset {second}"):
        convert_nb101(source, tmp_path / "t.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb.tfrecord"]


def test_bad_payload_is_a_data_error(tmp_path: Path) -> None:
    source = tmp_path / "nb.tfrecord"
    write_records(source, [b'["abc", 108, "0110", "input,output", "!!"]'])
    with pytest.raises(DataError, match="record 0 at byte offset 0 is not an NB101 record"):
        convert_nb101(source, tmp_path / "t.csv")


def test_aggregate_means_over_repeats_and_loads_as_benchmark(tmp_path: Path) -> None:
    records = make_records(5)
    source = write_nb101(tmp_path / "nb.tfrecord", records)
    convert_nb101(source, tmp_path / "t.parquet")
    convert_nb101(source, tmp_path / "t.csv")
    wide = aggregate_nb101(tmp_path / "t.parquet", epochs=(12, 108))
    pd.testing.assert_frame_equal(wide, aggregate_nb101(tmp_path / "t.csv", epochs=(12, 108)))
    pd.testing.assert_frame_equal(wide, aggregate_nb101(pd.read_csv(tmp_path / "t.csv"), epochs=(12, 108)))
    assert list(wide.columns[-4:]) == ["final_validation_accuracy@12", "final_test_accuracy@12",
                                       "final_validation_accuracy@108", "final_test_accuracy@108"]
    first = [r for r in records if r.module_hash == wide["module_hash"][0] and r.epochs == 108]
    assert wide["final_test_accuracy@108"][0] == pytest.approx(
        np.mean([r.metrics.evaluation_data[2].test_accuracy for r in first]), abs=1e-15)
    bench = nb101_benchmark(tmp_path / "t.parquet", epochs=(108,))
    assert len(bench) == 5 and bench.space.name == "nb101"
    assert bench.query(bench.archs()[:1], "final_test_accuracy@108")[0] == wide["final_test_accuracy@108"][0]
    with pytest.raises(DataError, match="not in the table"):
        aggregate_nb101(tmp_path / "t.parquet", epochs=(200,))


def test_field_order_does_not_matter() -> None:
    data = EvaluationData(4.0, 12.5, 0.5, 0.25, 0.125, "ckpt")
    fields = [encode_varint(n << 3 | 1) + np.float64(v).tobytes() for n, v in enumerate((4.0, 12.5, 0.5, 0.25, 0.125), 1)]
    path = encode_varint(6 << 3 | 2) + encode_varint(4) + b"ckpt"
    in_order = b"".join(fields) + path
    shuffled = path + b"".join(fields[::-1])
    assert EvaluationData.decode(in_order) == EvaluationData.decode(shuffled) == data
    assert data.encode() == in_order


def test_convert_cli_then_reduced_spaces_and_fidelity_from_a_spec(tmp_path: Path) -> None:
    """R2 7/7: one command converts the records, then a spec runs the search-phase paper's reduced-space study
    (n = 4..7 vertices) and the multi-fidelity correlation on the converted table."""
    from nasaudit.audit.runner import run_spec
    from nasaudit.audit.spec import load_spec
    from nasaudit.cli.main import main

    small = list(NB101Space(max_vertices=4).enumerate())  # all 91 cells of n <= 4, as the real file has them
    archs = small + NB101Space(sampling="uniform").sample_many(30, seed=1)
    source = write_nb101(tmp_path / "nasbench_only108.tfrecord", make_records(0, budgets=(12, 108), repeats=2,
                                                                               archs=archs))
    with pytest.raises(SystemExit) as done:
        main(["bench", "convert-nb101", str(source), str(tmp_path / "nb101.parquet"), "--no-progress"])
    assert done.value.code == 0
    (tmp_path / "spec.yaml").write_text("""
space: {name: nb101}
output: run
evaluators:
  nb101: {kind: nb101, path: nb101.parquet, metric: final_test_accuracy, epochs: 108}
  nb101_12: {kind: nb101, path: nb101.parquet, metric: final_test_accuracy, epochs: 12}
analyses:
  - {kind: reduced_spaces, evaluator: nb101, vertices: [4, 5, 6, 7], strategies: [random, local], budget: 5, seeds: 3}
  - {kind: fidelity, low: [nb101_12], final: nb101, top_ns: [5, 10]}
""")
    run_spec(load_spec(tmp_path / "spec.yaml"))
    sizes = pd.read_csv(tmp_path / "run" / "00-reduced_spaces" / "sizes.csv")
    assert sizes["exact_space_size"].tolist() == [91, 2532, 64542, 423624]
    assert sizes["cells_in_table"].iloc[0] == 91 and sizes["cells_in_table"].is_monotonic_increasing
    summary = pd.read_csv(tmp_path / "run" / "00-reduced_spaces" / "summary.csv")
    assert set(summary["vertices"]) == {4} and (summary["best_rank"] >= 1).all()
    assert "covers only" in (tmp_path / "run" / "00-reduced_spaces" / "section.json").read_text()
    fidelity = pd.read_csv(tmp_path / "run" / "01-fidelity" / "fidelity.csv")
    assert fidelity["subset"].tolist() == ["all", "top-5", "top-10"] and fidelity["n"].iloc[0] == len(set(archs))
