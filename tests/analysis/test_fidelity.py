"""Multi-fidelity correlation on a real-shaped NB101 table (records -> TFRecord -> conversion -> aggregate)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from nasaudit.analysis.fidelity import FIDELITY_COLUMNS, fidelity_correlation
from nasaudit.errors import DataError
from nasaudit.spaces.nb101 import NB101Space, nb101_hash
from nasaudit.truth.nb101_records import (
    EvaluationData,
    ModelMetrics,
    NB101Record,
    aggregate_nb101,
    convert_nb101,
    nb101_benchmark,
)
from nasaudit.truth.tfrecord import write_records


@pytest.fixture(scope="module")
def nb101_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(3)
    records = []
    for arch in NB101Space(sampling="uniform").sample_many(40, rng):
        quality = rng.uniform(0.6, 0.95)
        for epochs in (12, 36, 108):
            for _ in range(3):
                accuracy = quality * epochs / (epochs + 6) + rng.normal(0, 0.02)
                evals = (EvaluationData(), EvaluationData(epochs / 2, 1.0, accuracy, accuracy - 0.05, accuracy - 0.05),
                         EvaluationData(epochs, 2.0, accuracy, accuracy, accuracy + rng.normal(0, 0.01)))
                records.append(NB101Record(nb101_hash(arch), epochs, arch.matrix, arch.ops,
                                           ModelMetrics(evals, 1000, 3.0)))
    folder = tmp_path_factory.mktemp("fidelity")
    write_records(folder / "nb.tfrecord", (r.encode() for r in records))
    convert_nb101(folder / "nb.tfrecord", folder / "nb.parquet")
    return folder / "nb.parquet"


def test_matches_scipy_over_all_and_top_n(nb101_table: Path) -> None:
    wide = aggregate_nb101(nb101_table, metrics=("final_validation_accuracy",))
    lows = ["final_validation_accuracy@12", "final_validation_accuracy@36"]
    final = "final_validation_accuracy@108"
    result = fidelity_correlation(wide, lows, final, top_ns=(10, 25, 500))
    assert list(result.columns) == list(FIDELITY_COLUMNS)
    assert result["subset"].tolist() == ["all", "top-10", "top-25"] * 2
    truth = wide[final].to_numpy()
    top = np.argsort(-truth, kind="stable")
    for _, row in result.iterrows():
        idx = top[: row["n"]] if row["subset"] != "all" else np.arange(len(truth))
        cheap = wide[row["low"]].to_numpy()
        assert row["kendall_tau"] == pytest.approx(stats.kendalltau(truth[idx], cheap[idx]).statistic, abs=1e-12)
        assert row["spearman"] == pytest.approx(stats.spearmanr(truth[idx], cheap[idx]).statistic, abs=1e-12)
    assert result["kendall_tau"].iloc[0] > 0.5  # the synthetic fidelities share a per-cell quality


def test_accepts_a_benchmark_and_checks_columns(nb101_table: Path) -> None:
    bench = nb101_benchmark(nb101_table, metrics=("final_test_accuracy",))
    result = fidelity_correlation(bench, "final_test_accuracy@36", "final_test_accuracy@108", top_ns=(10,))
    assert result["n"].tolist() == [40, 10]
    with pytest.raises(DataError, match="not in the table"):
        fidelity_correlation(bench, "nope", "final_test_accuracy@108")
