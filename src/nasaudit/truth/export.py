"""Write tables back in the benchmarks' own formats, so other tools can read what nasaudit holds.

* NAS-Bench-201 / NATS-Bench: architecture strings ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (the official
  ``arch_str``) with the metric columns, as CSV or parquet;
* NAS-Bench-301 / DARTS: ``Genotype(normal=[...], normal_concat=..., reduce=[...], reduce_concat=...)`` strings;
* NAS-Bench-101: a TFRecord file in the official record layout (``nb101_records``), readable by the
  official ``nasbench`` API and by ``convert_nb101``.

Every file appears at its path only once completely written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from nasaudit._atomic import atomic_table
from nasaudit.errors import ConfigError
from nasaudit.spaces.darts import DartsSpace
from nasaudit.spaces.nb101 import NB101Space
from nasaudit.spaces.nb201 import NB201Space
from nasaudit.truth.nb101_records import (
    EvaluationData,
    ModelMetrics,
    NB101Record,
    read_nb101_table,
)
from nasaudit.truth.tabular import TabularBenchmark
from nasaudit.truth.tfrecord import TFRecordWriter


def export_nb201(benchmark: TabularBenchmark, path: str | Path, arch_column: str = "arch") -> Path:
    """An NB201 table as official architecture strings plus its metric columns (CSV or parquet by suffix)."""
    if not isinstance(benchmark.space, NB201Space):
        raise ConfigError(f"export_nb201 needs an NB201 table, got space {benchmark.space.name!r}")
    return _write_frame(_with_strings(benchmark, arch_column), Path(path))


def export_nb301(benchmark: TabularBenchmark, path: str | Path, arch_column: str = "genotype") -> Path:
    """A DARTS/NB301 table as DARTS ``Genotype(...)`` strings plus its metric columns (CSV or parquet)."""
    if not isinstance(benchmark.space, DartsSpace):
        raise ConfigError(f"export_nb301 needs a DARTS table, got space {benchmark.space.name!r}")
    return _write_frame(_with_strings(benchmark, arch_column), Path(path))


def export_official(benchmark: TabularBenchmark, path: str | Path) -> Path:
    """The table in its space family's own string format (NB201 arch strings, DARTS/NB301 genotypes)."""
    if benchmark.space.family == "nb201":
        return export_nb201(benchmark, path)
    if benchmark.space.family == "darts":
        return export_nb301(benchmark, path)
    raise ConfigError(f"no official string format for {benchmark.space.name!r}; NB101 tables converted from "
                      "the official records go back with export_nb101_records")


def export_nb101_records(table: str | Path | pd.DataFrame, path: str | Path) -> int:
    """Write a converted NB101 table (one row per cell, budget and repeat) as an official TFRecord file.

    Each row becomes one record: its module hash, budget, the cell's matrix and operations, and a
    ``ModelMetrics`` with three evaluations (step 0, halfway, final) at epochs 0, ``epochs / 2`` and ``epochs``.
    The table does not keep the step-0 accuracies, the total time or checkpoint paths: they are written
    as absent (zero). Returns the number of records.
    """
    frame = read_nb101_table(table)
    space = NB101Space()
    with TFRecordWriter(path) as writer:
        for row in frame.to_dict(orient="records"):
            arch = space.parse(str(row["arch"]))
            epochs = int(row["epochs"])
            evaluations = (EvaluationData(), _evaluation(row, "halfway", epochs / 2), _evaluation(row, "final", epochs))
            metrics = ModelMetrics(evaluations, int(row["trainable_parameters"]))
            writer.write(NB101Record(str(row["module_hash"]), epochs, arch.matrix, arch.ops, metrics).encode())
    return writer.count


def _evaluation(row: dict[Any, Any], phase: str, epoch: float) -> EvaluationData:
    return EvaluationData(float(epoch), float(row[f"{phase}_training_time"]), float(row[f"{phase}_train_accuracy"]),
                          float(row[f"{phase}_validation_accuracy"]), float(row[f"{phase}_test_accuracy"]))


def _with_strings(benchmark: TabularBenchmark, arch_column: str) -> pd.DataFrame:
    frame = pd.DataFrame({arch_column: [benchmark.space.format(a) for a in benchmark.archs()]})
    for metric in benchmark.metrics:
        frame[metric] = benchmark.scores(metric)
    return frame


def _write_frame(frame: pd.DataFrame, path: Path) -> Path:
    name = path.name.lower()
    if not name.endswith((".csv", ".parquet", ".pq")):
        raise ConfigError(f"export path {path} must end in .csv or .parquet")
    return atomic_table(frame, path)
