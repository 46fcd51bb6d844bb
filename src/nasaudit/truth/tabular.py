"""Tabular ground truth: a table of (architecture, metric columns) read from CSV or parquet.

The search-phase paper (Sec. 3-4) scores every strategy against ground truth looked up in a benchmark
table (NASBench); NAS-Bench-201 plays that role here. Queries are batched: a whole population is answered
through one dict lookup per architecture and one numpy take per metric.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import gzip
import io
import lzma
import warnings
import zipfile
import zlib
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import pandas as pd

from nasaudit.errors import ArchitectureError, DataError
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.registry import get_space

Resolve = Literal["exact", "canonical"]
#: the architecture column of a benchmark table, named as in the NB201 CSV exports (``nasaudit bench export``
#: writes it too)
ARCH_COLUMN = "ArchitectureString"

#: ``(metric alias, dataset)`` -> column of the NB201 CSV exports (``nats_tss_test_acc_200ep.csv`` and the shipped
#: validation table: CIFAR-10's validation accuracy is that of the ``cifar10-valid`` split, the only one that has it)
NB201_COLUMN_ALIASES: dict[tuple[str, str], str] = {
    ("test_acc", "cifar10"): "CIFAR10TestAccuracy200Epochs",
    ("test_acc", "cifar100"): "CIFAR100TestAccuracy200Epochs",
    ("test_acc", "imagenet16-120"): "ImageNetTestAccuracy200Epochs",
    ("valid_acc", "cifar10"): "CIFAR10ValidAccuracy200Epochs",
    ("valid_acc", "cifar10-valid"): "CIFAR10ValidAccuracy200Epochs",
}
#: metric alias -> key of the official API's ``get_more_info`` dict (columns ``"<dataset>/<key>"``)
OFFICIAL_METRIC_KEYS: dict[str, str] = {
    "train_acc": "train-accuracy",
    "valid_acc": "valid-accuracy",
    "test_acc": "test-accuracy",
}
_DATASET_SPELLINGS = {"imagenet": "imagenet16-120", "imagenet16": "imagenet16-120"}
_PARQUET_SUFFIXES = (".parquet", ".pq")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz")
#: a text column counts as a metric when more than this share of its present values are numbers
MOSTLY_NUMERIC = 0.5


class TabularBenchmark:
    """Ground-truth scores of the architectures listed in a table (search-phase paper, Sec. 3.1).

    ``table`` keeps the file's row order, with the architecture column as strings and the metric
    columns as float64. ``archs()`` and ``scores(metric)`` are aligned with it.
    """

    def __init__(self, space: SearchSpace, table: pd.DataFrame, arch_column: str, metrics: Sequence[str],
                 archs: Sequence[Hashable]) -> None:
        self.space = space
        self.table = table
        self.arch_column = arch_column
        self.metrics = list(metrics)
        self._archs = list(archs)
        self._row_of_arch = {arch: row for row, arch in enumerate(self._archs)}
        self._row_of_text = {text: row for row, text in enumerate(table[arch_column])}
        self._values = {m: table[m].to_numpy(dtype=np.float64) for m in self.metrics}
        self._keys: np.ndarray | None = None
        self._row_of_key: dict[str, int] | None = None

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_file(cls, path: str | Path, space: str | SearchSpace = "nb201",
                  arch_column: str = ARCH_COLUMN,
                  metric_columns: Sequence[str] | None = None) -> TabularBenchmark:
        """Read a CSV or parquet table; a corrupt, truncated or incomplete file raises ``DataError``."""
        return cls.from_frame(_read_table(Path(path)), space, arch_column, metric_columns,
                              source=str(path))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, space: str | SearchSpace = "nb201",
                   arch_column: str = ARCH_COLUMN, metric_columns: Sequence[str] | None = None,
                   source: str = "table") -> TabularBenchmark:
        """Validate an in-memory table: arch strings parse, metrics are numeric and complete, no duplicates."""
        the_space = get_space(space) if isinstance(space, str) else space
        if frame.empty:
            raise DataError(f"{source}: the benchmark table has no rows")
        if arch_column not in frame.columns:
            raise DataError(f"{source}: no architecture column {arch_column!r}; columns are "
                            f"{list(map(str, frame.columns))} (choose one with arch_column=...)")
        metrics = _metric_columns(frame, arch_column, metric_columns, source)
        table = pd.DataFrame({arch_column: frame[arch_column]})
        for metric in metrics:
            table[metric] = _numeric_column(frame[metric], metric, source)
        archs = _parse_archs(table[arch_column], the_space, source)
        table[arch_column] = [the_space.format(a) for a in archs]
        return cls(the_space, table.reset_index(drop=True), arch_column, metrics, archs)

    # ----------------------------------------------------------------- lookups
    def __len__(self) -> int:
        return len(self._archs)

    def __repr__(self) -> str:
        return f"TabularBenchmark(space={self.space.name!r}, rows={len(self)}, metrics={self.metrics})"

    def archs(self) -> list[Any]:
        """Every architecture of the table, in table order."""
        return list(self._archs)

    def column(self, metric: str, dataset: str | None = None) -> str:
        """The table column answering ``metric`` (a column name, or an alias such as ``test_acc``) on ``dataset``."""
        return resolve_column(self.metrics, metric, dataset)

    def scores(self, metric: str, dataset: str | None = None) -> np.ndarray:
        """All values of a metric, aligned with ``archs()``."""
        return self._values[self.column(metric, dataset)].copy()

    def rows(self, archs: Sequence[Any] | Any, resolve: Resolve = "exact") -> np.ndarray:
        """Table row of each architecture (arch value or string; a single one is accepted too).

        Unknown architectures raise ``DataError``, invalid ones ``ArchitectureError``.
        ``resolve="canonical"`` answers an architecture the table lacks through the table member with
        the same ``space.canonical`` key (its functionally equivalent representative).
        """
        if resolve not in ("exact", "canonical"):
            raise DataError(f"resolve must be 'exact' or 'canonical', got {resolve!r}")
        archs = [archs] if isinstance(archs, str) or not isinstance(archs, Iterable) else list(archs)
        rows = np.empty(len(archs), dtype=np.int64)
        missing: list[int] = []
        for i, arch in enumerate(archs):
            row = self._row_of_text.get(arch) if isinstance(arch, str) else self._row_of_arch.get(arch)
            if row is None:
                missing.append(i)
                row = -1
            rows[i] = row
        if missing:
            rows[missing] = self._resolve_missing([archs[i] for i in missing], resolve)
        return rows

    def query(self, archs: Sequence[Any] | Any, metric: str, dataset: str | None = None,
              resolve: Resolve = "exact") -> np.ndarray:
        """Ground-truth ``metric`` of each architecture, as one float64 array (batched lookup)."""
        values = self._values[self.column(metric, dataset)]
        return values[self.rows(archs, resolve)]

    def evaluator(self, metric: str, dataset: str | None = None, resolve: Resolve = "exact") -> TabularEvaluator:
        """An ``Evaluator`` answering ``metric`` from this table (higher is better)."""
        return TabularEvaluator(self, self.column(metric, dataset), resolve)

    # ----------------------------------------------------------------- equivalence classes
    def canonical_keys(self) -> np.ndarray:
        """``space.canonical`` of every row, aligned with ``archs()`` (computed once)."""
        if self._keys is None:
            self._keys = np.array([self.space.canonical(a) for a in self._archs], dtype=object)
        return self._keys

    def deisomorphised(self) -> TabularBenchmark:
        """One representative per canonical class: the first member in table order."""
        keys = pd.Series(self.canonical_keys())
        first = np.flatnonzero(~keys.duplicated().to_numpy())
        table = self.table.iloc[first].reset_index(drop=True)
        view = TabularBenchmark(self.space, table, self.arch_column, self.metrics,
                                [self._archs[i] for i in first])
        view._keys = self.canonical_keys()[first]
        return view

    def restrict(self, space: SearchSpace) -> TabularBenchmark:
        """The rows whose architectures lie in ``space`` (an op-masked or reduced version of the table's
        space: single-path paper Sec. 4.1, search-phase paper Sec. 4.3), answered as ``space``."""
        keep = [i for i, arch in enumerate(self._archs) if space.contains(arch)]
        if not keep:
            raise DataError(f"no architecture of the table lies in space {space.name!r} ({space.describe()})")
        table = self.table.iloc[keep].reset_index(drop=True)
        return TabularBenchmark(space, table, self.arch_column, self.metrics, [self._archs[i] for i in keep])

    def _resolve_missing(self, archs: list[Any], resolve: Resolve) -> np.ndarray:
        values = [self.space.coerce(a) for a in archs]  # invalid strings/archs raise ArchitectureError
        rows = [self._row_of_arch.get(v, -1) for v in values]
        if resolve == "canonical":
            if self._row_of_key is None:
                keys = self.canonical_keys()
                self._row_of_key = {k: r for r, k in reversed(list(enumerate(keys)))}
            rows = [r if r >= 0 else self._row_of_key.get(self.space.canonical(v), -1)
                    for r, v in zip(rows, values, strict=True)]
        unknown = [v for v, r in zip(values, rows, strict=True) if r < 0]
        if unknown:
            hint = "" if resolve == "canonical" else \
                "; pass resolve='canonical' to answer through an equivalent table member"
            raise DataError(f"{len(unknown)} architecture(s) not in the benchmark table ({len(self):,} rows), "
                            f"e.g. {self.space.format(unknown[0])!r}{hint}")
        return np.asarray(rows, dtype=np.int64)


@dataclass
class TabularEvaluator:
    """The ``Evaluator`` seam over one column of a ``TabularBenchmark``."""

    benchmark: TabularBenchmark
    metric: str
    resolve: Resolve = "exact"

    @property
    def space(self) -> SearchSpace:
        return self.benchmark.space

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """Ground-truth scores of ``archs`` (batched table lookup)."""
        return self.benchmark.query(archs, self.metric, resolve=self.resolve)


def resolve_column(columns: Sequence[str], metric: str, dataset: str | None = None) -> str:
    """The column of ``columns`` answering ``metric`` on ``dataset``: a column name, an official-API column
    ``<dataset>/<key>`` for an alias such as ``test_acc``, or the NB201 CSV export's column. Needs only the
    header, so a spec can be checked before any table is loaded."""
    if dataset is None:
        if metric in columns:
            return metric
        raise DataError(f"unknown metric {metric!r}; the table has {list(columns)} "
                        "(or give an alias with a dataset, e.g. metric='test_acc', dataset='cifar10')")
    name = _DATASET_SPELLINGS.get(dataset.lower(), dataset.lower())
    wanted = f"{name}/{OFFICIAL_METRIC_KEYS.get(metric, metric)}"
    for candidate in columns:
        if candidate.lower() == wanted:
            return candidate
    alias = NB201_COLUMN_ALIASES.get((metric, name))
    if alias is not None and alias in columns:
        return alias
    hint = ""
    if set(NB201_COLUMN_ALIASES.values()) & set(columns):
        hint = ("; the shipped table nb201 answers test_acc on cifar10, cifar100, imagenet16-120 and valid_acc on "
                "cifar10")
    raise DataError(f"no column for metric {metric!r} on dataset {dataset!r}; the table has {list(columns)}{hint}")


def table_header(path: str | Path) -> list[str]:
    """The column names of a CSV or parquet table, read without loading its rows; duplicates are an error."""
    path = Path(path)
    if path.name.lower().endswith(_PARQUET_SUFFIXES):
        try:
            return _parquet_header(path)
        except DataError:
            raise
        except (OSError, ValueError) as err:
            raise DataError(f"{path}: not a readable parquet table ({_one_line(err)})") from None
    try:
        return _csv_head(path)[0]
    except DataError:
        raise
    except _READ_ERRORS as err:
        raise DataError(f"{path}: not a readable CSV table ({type(err).__name__}: {_one_line(err)})") from None


#: what reading a corrupt, truncated or garbage (compressed) table raises
_READ_ERRORS: tuple[type[Exception], ...] = (ValueError, OSError, EOFError, UnicodeDecodeError, zlib.error,
                                             lzma.LZMAError, zipfile.BadZipFile, csv.Error,
                                             pd.errors.ParserError, pd.errors.EmptyDataError)


#: the same, plus pandas' warning that a row's extra field would be dropped (raised as an error here)
_READ_ERRORS_OR_WARNING: tuple[type[Exception], ...] = (*_READ_ERRORS, pd.errors.ParserWarning)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _parquet_header(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return _unique_header([str(c) for c in pq.read_schema(path).names], path)


def _open_text(path: Path, stack: contextlib.ExitStack) -> IO[str]:
    """``path`` as UTF-8 text, decompressed as its suffix says (pandas' own inference: gz, bz2, xz, zip)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        return stack.enter_context(gzip.open(path, "rt", encoding="utf-8", newline=""))
    if name.endswith(".bz2"):
        return stack.enter_context(bz2.open(path, "rt", encoding="utf-8", newline=""))
    if name.endswith(".xz"):
        return stack.enter_context(lzma.open(path, "rt", encoding="utf-8", newline=""))
    if name.endswith(".zip"):
        archive = stack.enter_context(zipfile.ZipFile(path))
        members = [m for m in archive.namelist() if not m.endswith("/")]
        if len(members) != 1:
            raise ValueError(f"a zipped table holds exactly one file, this archive holds {len(members)}")
        return stack.enter_context(io.TextIOWrapper(archive.open(members[0]), encoding="utf-8", newline=""))
    return stack.enter_context(path.open(encoding="utf-8", newline=""))


def _csv_head(path: Path) -> tuple[list[str], list[str] | None]:
    """The header of a CSV table (duplicates refused) and its first data record, parsed by ``csv``."""
    with contextlib.ExitStack() as stack:
        reader = csv.reader(_open_text(path, stack))
        header = next(reader, None)
        first = next(reader, None)
    if not header:
        raise pd.errors.EmptyDataError("the file has no header line")
    return _unique_header(header, path), first


def _unique_header(names: list[str], path: Path) -> list[str]:
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise DataError(f"{path}: column {name!r} appears twice in the header (columns {seen[name]} and "
                            f"{position}); column names must be unique")
        seen[name] = position
    return names


def read_frame(path: str | Path, what: str = "table") -> pd.DataFrame:
    """A CSV (optionally compressed) or parquet file as a DataFrame, read with the checks of benchmark tables: a
    missing, binary, corrupt or truncated file is one ``DataError`` naming it as ``what``."""
    return _read_table(Path(path), what)


def _read_table(path: Path, what: str = "benchmark table") -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{what} not found: {path}")
    name = path.name.lower()
    if not name.endswith(_PARQUET_SUFFIXES + _CSV_SUFFIXES):
        raise DataError(f"{what} {path} must be CSV ({', '.join(_CSV_SUFFIXES)}) or parquet "
                        f"({', '.join(_PARQUET_SUFFIXES)})")
    try:
        if name.endswith(_PARQUET_SUFFIXES):
            _parquet_header(path)  # duplicate names first: pyarrow's own error about them is a page long
            return pd.read_parquet(path)
        header, first = _csv_head(path)
        if first is not None and len(first) > len(header):
            raise DataError(f"{path}: line 2 has {len(first)} fields but the header has {len(header)}; "
                            "an extra field would shift the columns")
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(path, index_col=False)
        return _check_last_row(frame, path)
    except DataError:
        raise
    except _READ_ERRORS_OR_WARNING as err:
        raise DataError(f"cannot read {what} {path} (corrupt or truncated?): {_one_line(err)}") from None


def _check_last_row(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """A CSV cut mid-row leaves its last row short: values missing that every other row has."""
    if len(frame) > 1:
        short = frame.iloc[-1].isna() & ~frame.iloc[:-1].isna().any()
        if short.any():
            raise DataError(f"{path}: the last row lacks {list(map(str, frame.columns[short.to_numpy()]))}, "
                            "which every other row has; the file looks truncated")
    return frame


def _metric_columns(frame: pd.DataFrame, arch_column: str, metric_columns: Sequence[str] | None,
                    source: str) -> list[str]:
    if metric_columns is None:
        chosen = [str(c) for c in frame.columns if c != arch_column and _mostly_numeric(frame[c])]
        if not chosen:
            raise DataError(f"{source}: no numeric metric column besides {arch_column!r}; "
                            f"columns are {list(map(str, frame.columns))}")
        return chosen
    chosen = list(dict.fromkeys(metric_columns))
    absent = [c for c in chosen if c not in frame.columns]
    if absent:
        raise DataError(f"{source}: missing metric column(s) {absent}; columns are {list(map(str, frame.columns))}")
    if arch_column in chosen:
        raise DataError(f"{source}: the architecture column {arch_column!r} cannot be a metric column")
    return chosen


def _mostly_numeric(values: pd.Series) -> bool:
    """A numeric column, or text of which more than half the present values read as numbers.

    A metric column with a few bad cells is still a metric column (``_numeric_column`` then names the bad
    cell) instead of being skipped without a word.
    """
    if pd.api.types.is_numeric_dtype(values):
        return True
    present = values.dropna()
    if present.empty or not (pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)):
        return False
    return float(pd.to_numeric(present, errors="coerce").notna().mean()) > MOSTLY_NUMERIC


def _numeric_column(values: pd.Series, metric: str, source: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if bad.size:
        first = int(bad[0])
        raise DataError(f"{source}: {bad.size} missing or non-numeric value(s) in metric column {metric!r}, "
                        f"first at data row {first + 1} ({values.iloc[first]!r}); corrupt or truncated table?")
    return numbers


def _parse_archs(column: pd.Series, space: SearchSpace, source: str) -> list[Hashable]:
    archs: list[Hashable] = []
    for row, text in enumerate(column):
        if not isinstance(text, str):
            raise DataError(f"{source}: architecture missing at data row {row + 1} ({text!r}); "
                            "corrupt or truncated table?")
        try:
            archs.append(space.coerce(text))
        except ArchitectureError as err:
            raise DataError(f"{source}: bad architecture at data row {row + 1}: {err}") from None
    first_row: dict[Hashable, int] = {}
    for row, arch in enumerate(archs):
        if arch in first_row:
            raise DataError(f"{source}: architecture {space.format(arch)!r} appears twice, at data rows "
                            f"{first_row[arch] + 1} and {row + 1}")
        first_row[arch] = row
    return archs
