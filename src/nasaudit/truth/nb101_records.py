"""NAS-Bench-101 result records read without TensorFlow or protobuf, converted to a tidy table.

The official file (``nasbench_full.tfrecord`` / ``nasbench_only108.tfrecord``; Ying et al., 2019, the
ground truth of the search-phase paper Sec. 3.2 and App. A.2) is TFRecord framing (``tfrecord.py``)
around UTF-8 JSON payloads ``[module_hash, epochs, adjacency, operations, metrics]``, as the official
reader ``nasbench/api.py`` (google-research/nasbench, ``NASBench.__init__``) decodes them: ``adjacency``
is the row-major matrix as a string of '0'/'1', ``operations`` comma-separated labels, ``metrics`` the
base64 of a serialised ``ModelMetrics`` protobuf. Message layout, from ``nasbench/lib/model_metrics.proto``
(proto2)::

    message ModelMetrics { repeated EvaluationData evaluation_data = 1;
                           optional int32 trainable_parameters = 2; optional double total_time = 3; }
    message EvaluationData { optional double current_epoch = 1; optional double training_time = 2;
                             optional double train_accuracy = 3; optional double validation_accuracy = 4;
                             optional double test_accuracy = 5; optional string checkpoint_path = 6; }

``evaluation_data`` holds the evaluations at step 0, halfway and at the end of training (the API uses
entries 1 and 2). Accuracies are fractions in [0, 1], as in the file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import math
import struct
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nasaudit._atomic import atomic_open
from nasaudit.errors import ArchitectureError, DataError
from nasaudit.spaces.nb101 import NB101Arch, NB101Space, nb101_hash
from nasaudit.truth.tabular import TabularBenchmark
from nasaudit.truth.tfrecord import iter_framed
from nasaudit.yamlio import loads_json

_DOUBLE = struct.Struct("<d")
VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
#: columns of the converted table, one row per (cell, epoch budget, repeat)
NB101_COLUMNS: tuple[str, ...] = (
    "module_hash", "arch", "n_vertices", "epochs", "repeat", "trainable_parameters", "hash_matches",
    "halfway_training_time", "halfway_train_accuracy", "halfway_validation_accuracy", "halfway_test_accuracy",
    "final_training_time", "final_train_accuracy", "final_validation_accuracy", "final_test_accuracy",
)
#: the values of an evaluation kept per phase (``halfway_*``, ``final_*``), in ``EvaluationData`` order
PHASE_FIELDS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
_ROWS_PER_WRITE = 50_000


# ----------------------------------------------------------------------------------- protobuf wire format
class ProtobufError(ValueError):
    """Malformed protobuf bytes (turned into ``DataError`` with the record's position by the callers)."""


def read_varint(data: bytes, position: int) -> tuple[int, int]:
    """The base-128 varint at ``position`` and the position after it."""
    value, shift = 0, 0
    while True:
        if position >= len(data):
            raise ProtobufError("varint runs past the end of the message")
        if shift > 63:
            raise ProtobufError("varint longer than 10 bytes")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def iter_fields(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """``(field number, wire type, value)`` of each field of a message: an int for varints, the raw bytes
    for fixed64, fixed32 and length-delimited fields. Groups (wire types 3, 4) are refused."""
    position = 0
    while position < len(data):
        key, position = read_varint(data, position)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtobufError("field number 0")
        value: int | bytes
        if wire == VARINT:
            value, position = read_varint(data, position)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if position + size > len(data):
                raise ProtobufError(f"field {number}: fixed-width value runs past the end")
            value, position = data[position:position + size], position + size
        elif wire == LENGTH_DELIMITED:
            size, position = read_varint(data, position)
            if position + size > len(data):
                raise ProtobufError(f"field {number}: {size} bytes announced, {len(data) - position} left")
            value, position = data[position:position + size], position + size
        else:
            raise ProtobufError(f"field {number}: unsupported wire type {wire}")
        yield number, wire, value


def encode_varint(value: int) -> bytes:
    """Base-128 varint; negative values as 64-bit two's complement (10 bytes), as protobuf does."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return encode_varint(number << 3 | wire)


def _double(number: int, value: float) -> bytes:
    return _key(number, FIXED64) + _DOUBLE.pack(value)


def _bytes_field(number: int, value: bytes) -> bytes:
    return _key(number, LENGTH_DELIMITED) + encode_varint(len(value)) + value


def _raw(value: int | bytes) -> bytes:
    """The bytes of a fixed-width or length-delimited field (``_expect`` has checked the wire type)."""
    if isinstance(value, int):
        raise ProtobufError("a varint where bytes were expected")
    return value


def _expect(number: int, wire: int, wanted: int, message: str) -> None:
    if wire != wanted:
        raise ProtobufError(f"{message} field {number} has wire type {wire}, expected {wanted}")


# ----------------------------------------------------------------------------------- the messages
@dataclass(frozen=True)
class EvaluationData:
    """One evaluation during training (``model_metrics.proto``); absent proto2 fields read as defaults."""

    current_epoch: float = 0.0
    training_time: float = 0.0
    train_accuracy: float = 0.0
    validation_accuracy: float = 0.0
    test_accuracy: float = 0.0
    checkpoint_path: str = ""

    def encode(self) -> bytes:
        parts = [_double(i, getattr(self, name)) for i, name in enumerate(_EVAL_DOUBLES, start=1)]
        if self.checkpoint_path:
            parts.append(_bytes_field(6, self.checkpoint_path.encode("utf-8")))
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> EvaluationData:
        values: dict[str, Any] = {}
        rest = data
        if len(data) >= _EVAL_PREFIX.size:  # fast path: fields 1-5 as doubles, in order, as protobuf writes them
            unpacked = _EVAL_PREFIX.unpack_from(data)
            if unpacked[0::2] == _EVAL_KEYS:
                if len(data) == _EVAL_PREFIX.size:
                    return cls(*unpacked[1::2])
                values = dict(zip(_EVAL_DOUBLES, unpacked[1::2], strict=True))
                rest = data[_EVAL_PREFIX.size:]
        for number, wire, value in iter_fields(rest):
            if 1 <= number <= len(_EVAL_DOUBLES):
                _expect(number, wire, FIXED64, "EvaluationData")
                values[_EVAL_DOUBLES[number - 1]] = _DOUBLE.unpack(_raw(value))[0]
            elif number == 6:
                _expect(number, wire, LENGTH_DELIMITED, "EvaluationData")
                values["checkpoint_path"] = _raw(value).decode("utf-8")
        return cls(**values)


_EVAL_DOUBLES = ("current_epoch", "training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
_EVAL_PREFIX = struct.Struct("<" + "Bd" * len(_EVAL_DOUBLES))
_EVAL_KEYS = tuple(number << 3 | FIXED64 for number in range(1, len(_EVAL_DOUBLES) + 1))


@dataclass(frozen=True)
class ModelMetrics:
    """``ModelMetrics`` of ``model_metrics.proto``: evaluations, parameter count, total time."""

    evaluation_data: tuple[EvaluationData, ...] = ()
    trainable_parameters: int = 0
    total_time: float = 0.0

    def encode(self) -> bytes:
        parts = [_bytes_field(1, e.encode()) for e in self.evaluation_data]
        parts.append(_key(2, VARINT) + encode_varint(self.trainable_parameters))
        parts.append(_double(3, self.total_time))
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> ModelMetrics:
        evaluations: list[EvaluationData] = []
        params, total = 0, 0.0
        for number, wire, value in iter_fields(data):
            if number == 1:
                _expect(number, wire, LENGTH_DELIMITED, "ModelMetrics")
                evaluations.append(EvaluationData.decode(_raw(value)))
            elif number == 2:
                _expect(number, wire, VARINT, "ModelMetrics")
                raw = value if isinstance(value, int) else 0
                params = raw - (1 << 64) if raw >= 1 << 63 else raw  # int32 is sign-extended to 64 bits
            elif number == 3:
                _expect(number, wire, FIXED64, "ModelMetrics")
                total = _DOUBLE.unpack(_raw(value))[0]
        return cls(tuple(evaluations), params, total)


@dataclass(frozen=True)
class NB101Record:
    """One record of the official file: a cell trained once for ``epochs`` epochs."""

    module_hash: str
    epochs: int
    matrix: tuple[tuple[int, ...], ...]
    operations: tuple[str, ...]
    metrics: ModelMetrics = field(default_factory=ModelMetrics)

    def encode(self) -> bytes:
        """The record's payload in the official layout (JSON list, base64 ``ModelMetrics``)."""
        adjacency = "".join(str(bit) for row in self.matrix for bit in row)
        metrics = base64.b64encode(self.metrics.encode()).decode("ascii")
        return json.dumps([self.module_hash, self.epochs, adjacency, ",".join(self.operations), metrics]).encode()

    @classmethod
    def decode(cls, payload: bytes) -> NB101Record:
        """Parse one payload; malformed content raises ``ProtobufError`` or ``ValueError``."""
        value = loads_json(payload, "the payload", max_depth=2)  # the official layout is a flat list
        if not isinstance(value, list) or len(value) != 5:
            raise ValueError("payload is not the JSON list [hash, epochs, adjacency, operations, metrics]")
        module_hash, epochs, adjacency, operations, metrics = value
        if not (isinstance(module_hash, str) and isinstance(epochs, int) and isinstance(adjacency, str)
                and isinstance(operations, str) and isinstance(metrics, str)):
            raise ValueError("payload fields must be [str, int, str, str, str]")
        matrix = _adjacency(adjacency)
        decoded = ModelMetrics.decode(base64.b64decode(metrics, validate=True))
        return cls(module_hash, epochs, matrix, tuple(operations.split(",")), decoded)


@lru_cache(maxsize=1 << 16)
def _adjacency(text: str) -> tuple[tuple[int, ...], ...]:
    """The matrix of a row-major '0'/'1' string (cached: every cell's string recurs once per record)."""
    dim = math.isqrt(len(text))
    if dim * dim != len(text) or set(text) - {"0", "1"}:
        raise ValueError(f"adjacency {text!r} is not a square matrix of '0'/'1'")
    return tuple(tuple(int(c) for c in text[r * dim:(r + 1) * dim]) for r in range(dim))


def iter_nb101_records(path: str | Path) -> Iterator[tuple[int, int, NB101Record]]:
    """``(record index, byte offset, record)`` of every record of an official NB101 file, streamed."""
    for index, offset, payload in iter_framed(path):
        try:
            yield index, offset, NB101Record.decode(payload)
        except (ValueError, UnicodeDecodeError, binascii.Error) as err:
            raise DataError(f"{path}: record {index} at byte offset {offset} is not an NB101 record: {err}") from None


# ----------------------------------------------------------------------------------- conversion
@dataclass(frozen=True)
class ConversionSummary:
    """What ``convert_nb101`` read and wrote."""

    path: Path
    records: int
    rows: int
    unique_cells: int
    budgets: tuple[int, ...]
    hash_mismatches: int
    seconds: float


@dataclass(slots=True)
class _Cell:
    arch: str
    n_vertices: int
    hash_matches: bool
    repeats: dict[int, int] = field(default_factory=dict)


class _TableSink:
    """Rows appended in blocks to a CSV or parquet file written atomically (``nasaudit._atomic``)."""

    def __init__(self, path: Path) -> None:
        name = path.name.lower()
        self.parquet = name.endswith((".parquet", ".pq"))
        if not self.parquet and not name.endswith(".csv"):
            raise DataError(f"output table {path} must end in .csv or .parquet")
        self.path = path
        self.rows = 0
        self._stack = contextlib.ExitStack()
        self._handle: IO[bytes] = self._stack.enter_context(atomic_open(path, "wb"))
        self._writer: pq.ParquetWriter | None = None

    def append(self, rows: list[tuple[Any, ...]]) -> None:
        frame = pd.DataFrame.from_records(rows, columns=list(NB101_COLUMNS))
        if self.parquet:
            batch = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._handle, batch.schema)
            self._writer.write_table(batch)
        else:
            frame.to_csv(self._handle, header=self.rows == 0, index=False)
        self.rows += len(rows)

    def finish(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if not self.rows:
            raise DataError(f"no NB101 records to write to {self.path}")
        self._stack.close()

    def abort(self, error: BaseException) -> None:
        if self._writer is not None:
            self._writer.close()
        self._stack.__exit__(type(error), error, error.__traceback__)


def record_row(record: NB101Record, arch: str, n_vertices: int, repeat: int, hash_matches: bool) -> tuple[Any, ...]:
    """One table row (``NB101_COLUMNS`` order) of a record whose cell is ``arch``."""
    evaluations = record.metrics.evaluation_data
    if len(evaluations) < 3:
        raise ValueError(f"{len(evaluations)} evaluations; the official layout has 3 (start, halfway, final)")
    halfway, final = evaluations[1], evaluations[2]
    return (record.module_hash, arch, n_vertices, record.epochs, repeat, record.metrics.trainable_parameters,
            hash_matches, *(getattr(halfway, f) for f in PHASE_FIELDS), *(getattr(final, f) for f in PHASE_FIELDS))


def convert_nb101(src: str | Path, dst: str | Path, *, progress: bool = False) -> ConversionSummary:
    """Stream an official NB101 TFRecord file into a table (``NB101_COLUMNS``), CSV or parquet by suffix.

    One row per (unique cell, epoch budget, repeat); ``repeat`` counts the records of a (cell, budget) in
    file order. ``arch`` is our NB101 string of the record's (pruned) cell and ``hash_matches`` says whether
    our NB101 hash equals the record's module hash. Memory per record is constant; the only growing state
    is one small entry per unique cell (at most 423,624). The table appears at ``dst`` only when complete.
    """
    source, target = Path(src), Path(dst)
    started = time.perf_counter()
    cells: dict[str, _Cell] = {}
    budgets: set[int] = set()
    mismatches = records = 0
    sink = _TableSink(target)
    rows: list[tuple[Any, ...]] = []
    try:
        with _Progress(source, progress) as advance:
            for index, offset, record in iter_nb101_records(source):
                cell = cells.get(record.module_hash)
                if cell is None:
                    cell = cells[record.module_hash] = _new_cell(record, source, index, offset)
                    mismatches += not cell.hash_matches
                repeat = cell.repeats.get(record.epochs, 0)
                cell.repeats[record.epochs] = repeat + 1
                budgets.add(record.epochs)
                try:
                    rows.append(record_row(record, cell.arch, cell.n_vertices, repeat, cell.hash_matches))
                except ValueError as err:
                    raise DataError(f"{source}: record {index} at byte offset {offset}: {err}") from None
                records += 1
                if len(rows) >= _ROWS_PER_WRITE:
                    sink.append(rows)
                    rows = []
                advance(offset)
        if rows:
            sink.append(rows)
        sink.finish()
    except BaseException as error:
        sink.abort(error)
        raise
    return ConversionSummary(target, records, sink.rows, len(cells), tuple(sorted(budgets)), mismatches,
                             time.perf_counter() - started)


def _new_cell(record: NB101Record, source: Path, index: int, offset: int) -> _Cell:
    try:
        arch = NB101Arch.from_spec(np.array(record.matrix, dtype=np.int8), record.operations)
    except ArchitectureError as err:
        raise DataError(f"{source}: record {index} at byte offset {offset} has an invalid cell: {err}") from None
    return _Cell(str(arch), arch.n_vertices, nb101_hash(arch) == record.module_hash)


class _Progress:
    """A rich progress bar over the file's bytes (or nothing)."""

    def __init__(self, source: Path, show: bool) -> None:
        self.source, self.show = source, show
        self._bar: Any = None

    def __enter__(self) -> Any:
        if not self.show:
            return lambda offset: None
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        self._bar = Progress("converting", BarColumn(), DownloadColumn(), TimeRemainingColumn())
        self._bar.start()
        self._task = task = self._bar.add_task("nb101", total=self.source.stat().st_size)
        last = [0.0]

        def advance(offset: int) -> None:
            now = time.perf_counter()
            if now - last[0] > 0.2:
                self._bar.update(task, completed=offset)
                last[0] = now
        return advance

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if self._bar is not None:
            if kind is None:
                self._bar.update(self._task, completed=self.source.stat().st_size)
            self._bar.stop()


# ----------------------------------------------------------------------------------- aggregated view
def read_nb101_table(source: str | Path | pd.DataFrame, columns: Sequence[str] = NB101_COLUMNS) -> pd.DataFrame:
    """The ``columns`` of a converted table (file or frame). From a file, ``module_hash`` and ``arch`` are
    read as categoricals (each string once per cell, not once per row: the full table fits in memory)."""
    wanted = list(columns)
    unknown = [c for c in wanted if c not in NB101_COLUMNS]
    if unknown:
        raise DataError(f"unknown NB101 table column(s) {unknown}; the table has {list(NB101_COLUMNS)}")
    if isinstance(source, pd.DataFrame):
        have = list(source.columns)
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(f"converted NB101 table not found: {path}")
        parquet = path.suffix.lower() in (".parquet", ".pq")
        have = pq.read_schema(path).names if parquet else list(pd.read_csv(path, nrows=0).columns)
    missing = [c for c in wanted if c not in have]
    if missing:
        raise DataError(f"not a converted NB101 table: missing column(s) {missing}")
    if isinstance(source, pd.DataFrame):
        return source[wanted]
    strings = [c for c in ("module_hash", "arch") if c in wanted]
    if parquet:
        return pq.read_table(path, columns=wanted, read_dictionary=strings).to_pandas()
    return pd.read_csv(path, usecols=wanted, dtype=dict.fromkeys(strings, "category"))[wanted]


def aggregate_nb101(source: str | Path | pd.DataFrame, metrics: Sequence[str] = ("final_validation_accuracy",
                    "final_test_accuracy"), epochs: Sequence[int] | None = None) -> pd.DataFrame:
    """One row per cell: the mean over repeats of each metric at each budget, columns ``"<metric>@<epochs>"``.

    The search-phase paper (App. A.2) ranks NB101 cells by the mean test accuracy over the 3 repeats at 108
    epochs. ``epochs=None`` keeps every budget of the table; a cell lacking a requested budget raises.
    """
    unknown = [m for m in metrics if m not in NB101_COLUMNS[7:]]
    if unknown:
        raise DataError(f"unknown NB101 metric(s) {unknown}; choose from {list(NB101_COLUMNS[7:])}")
    cell_columns = ["arch", "n_vertices", "trainable_parameters", "hash_matches"]
    frame = read_nb101_table(source, ["module_hash", "epochs", *cell_columns, *dict.fromkeys(metrics)])
    present = sorted(int(e) for e in frame["epochs"].unique())
    chosen = present if epochs is None else [int(e) for e in epochs]
    absent = [e for e in chosen if e not in present]
    if absent:
        raise DataError(f"epoch budget(s) {absent} not in the table (it has {present})")
    means = (frame[frame["epochs"].isin(chosen)]
             .groupby(["module_hash", "epochs"], sort=False, observed=True)[list(metrics)].mean().unstack("epochs"))
    if means.isna().to_numpy().any():
        raise DataError(f"some cells lack one of the epoch budgets {chosen}; choose budgets every cell has")
    means.columns = [f"{metric}@{budget}" for metric, budget in means.columns]
    means.index = means.index.astype(str)
    ordered = [f"{m}@{e}" for e in chosen for m in metrics]
    firsts = frame.drop_duplicates("module_hash")
    firsts = pd.DataFrame({c: (firsts[c].astype(str) if c == "arch" else firsts[c]).to_numpy() for c in cell_columns},
                          index=firsts["module_hash"].astype(str).to_numpy())
    out = means[ordered].join(firsts).rename_axis("module_hash").reset_index()
    return out[["module_hash", *cell_columns, *ordered]]


def nb101_benchmark(source: str | Path | pd.DataFrame, metrics: Sequence[str] = ("final_validation_accuracy",
                    "final_test_accuracy"), epochs: Sequence[int] | None = None) -> TabularBenchmark:
    """The aggregated view as a ``TabularBenchmark`` over ``NB101Space`` (metric columns ``"<metric>@<epochs>"``)."""
    table = aggregate_nb101(source, metrics, epochs)
    columns = [c for c in table.columns if "@" in c]
    return TabularBenchmark.from_frame(table, NB101Space(), "arch", columns, source="converted NB101 table")
