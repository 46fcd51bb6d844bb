"""TabularBenchmark: real NB201 facts, batched queries, aliases, equivalence classes and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.errors import ArchitectureError, DataError
from nasaudit.evaluators import Evaluator
from nasaudit.spaces import NB201Space
from nasaudit.truth import TabularBenchmark

C10 = "CIFAR10TestAccuracy200Epochs"


@pytest.fixture(scope="module")
def nb201(nb201_csv: Path) -> TabularBenchmark:
    return TabularBenchmark.from_file(nb201_csv)


def small_frame(n: int = 40) -> pd.DataFrame:
    archs = list(NB201Space().enumerate())[:n]
    return pd.DataFrame({"arch": [str(a) for a in archs], "acc": np.linspace(10, 90, n),
                         "loss": np.linspace(3, 1, n), "note": ["x"] * n})


def test_real_table_matches_published_facts(nb201: TabularBenchmark) -> None:
    assert len(nb201) == 15_625
    assert nb201.metrics == [C10, "CIFAR100TestAccuracy200Epochs", "ImageNetTestAccuracy200Epochs"]
    assert nb201.scores(C10).max() == pytest.approx(94.37, abs=0.005)
    assert nb201.scores("test_acc", "cifar100").max() == pytest.approx(73.51, abs=0.005)
    assert nb201.scores("test_acc", "ImageNet16-120").max() == pytest.approx(47.31, abs=0.005)
    assert nb201.scores(C10).mean() == pytest.approx(87.06, abs=0.005)
    assert len(nb201.deisomorphised()) == 6_466


def test_query_is_batched_and_accepts_strings_and_archs(nb201: TabularBenchmark) -> None:
    archs = nb201.archs()
    rng = np.random.default_rng(0)
    picks = rng.choice(len(archs), 500, replace=False)
    chosen = [archs[i] for i in picks]
    expected = nb201.scores(C10)[picks]
    assert np.array_equal(nb201.query(chosen, C10), expected)
    assert np.array_equal(nb201.query([str(a) for a in chosen], "test_acc", dataset="cifar10"), expected)
    assert np.array_equal(nb201.query(pd.Series([str(a) for a in chosen]), C10), expected)
    assert nb201.query(chosen[0], C10).tolist() == [expected[0]]
    assert nb201.query(str(chosen[1]), C10).tolist() == [expected[1]]
    with pytest.raises(DataError, match="resolve"):
        nb201.query(chosen, C10, resolve="fuzzy")  # type: ignore[arg-type]
    evaluator = nb201.evaluator("test_acc", "cifar10")
    assert isinstance(evaluator, Evaluator)
    assert np.array_equal(evaluator.evaluate(chosen), expected)


def test_canonical_resolution_and_deisomorphised_view(nb201: TabularBenchmark) -> None:
    unique = nb201.deisomorphised()
    keys = unique.canonical_keys()
    assert len(set(keys)) == len(keys) == 6_466
    full_keys = nb201.canonical_keys()
    member = next(a for a, k in zip(nb201.archs(), full_keys, strict=True)
                  if a not in set(unique.archs()))
    with pytest.raises(DataError, match="resolve='canonical'"):
        unique.query([member], C10)
    representative = unique.archs()[list(keys).index(nb201.space.canonical(member))]
    assert unique.query([member], C10, resolve="canonical")[0] == nb201.query([representative], C10)[0]
    first_rows = pd.Series(full_keys).drop_duplicates().index.to_numpy()
    assert unique.archs() == [nb201.archs()[i] for i in first_rows]


def test_unknown_and_invalid_architectures() -> None:
    table = TabularBenchmark.from_frame(small_frame(), arch_column="arch")
    assert table.metrics == ["acc", "loss"]
    outside = NB201Space().sample(123)
    assert outside not in table.archs()
    with pytest.raises(DataError, match="not in the benchmark table"):
        table.query([table.archs()[0], outside], "acc")
    with pytest.raises(ArchitectureError):
        table.query(["|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "acc")
    with pytest.raises(DataError, match="unknown metric"):
        table.query(table.archs()[:2], "accuracy")
    with pytest.raises(DataError, match="no column for metric"):
        table.query(table.archs()[:2], "test_acc", dataset="cifar10")


def test_parquet_and_csv_round_trip(tmp_path: Path) -> None:
    frame = small_frame()
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_csv(tmp_path / "t.csv", index=False)
    a = TabularBenchmark.from_file(tmp_path / "t.parquet", arch_column="arch", metric_columns=["acc"])
    b = TabularBenchmark.from_file(tmp_path / "t.csv", arch_column="arch", metric_columns=["acc"])
    assert a.archs() == b.archs()
    assert np.array_equal(a.scores("acc"), b.scores("acc"))
    assert a.metrics == ["acc"]


def csv_text() -> str:
    return small_frame(30).assign(acc=np.r_[50.0, np.linspace(10, 90, 29)]).to_csv(index=False)


@pytest.mark.parametrize("fraction", [0.2, 0.35, 0.5, 0.61, 0.77, 0.9, 0.995])
def test_truncated_csv(tmp_path: Path, fraction: float) -> None:
    text = csv_text()
    cut = int(len(text) * fraction)
    while "\n" in text[cut - 1: cut + 1]:  # cut inside a row, not at its end
        cut += 1
    path = tmp_path / "t.csv"
    path.write_text(text[:cut])
    with pytest.raises(DataError, match="truncated"):
        TabularBenchmark.from_file(path, arch_column="arch", metric_columns=["acc"])


@pytest.mark.parametrize(("edit", "message"), [
    (lambda text: text.replace("50.0", "fifty", 1), "non-numeric value"),
    (lambda text: text.replace("|none~0|", "|nope~0|", 1), "bad architecture at data row"),
    (lambda text: text.replace("|none~0|", "", 1), "architecture missing|bad architecture"),
    (lambda text: "\x00\xff garbage \x00" * 20, "no rows|no architecture column|cannot read"),
    (lambda text: "", "cannot read"),
])
def test_corrupt_csv(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.csv"
    path.write_text(edit(csv_text()))
    with pytest.raises(DataError, match=message):
        TabularBenchmark.from_file(path, arch_column="arch", metric_columns=["acc"])


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        TabularBenchmark.from_file(tmp_path / "absent.csv")
    (tmp_path / "t.txt").write_text("a,b\n")
    with pytest.raises(DataError, match="CSV"):
        TabularBenchmark.from_file(tmp_path / "t.txt")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really parquet")
    with pytest.raises(DataError, match="cannot read"):
        TabularBenchmark.from_file(tmp_path / "bad.parquet")
    frame = small_frame()
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="no architecture column 'ArchitectureString'"):
        TabularBenchmark.from_file(tmp_path / "t.csv")
    with pytest.raises(DataError, match=r"missing metric column\(s\) \['valid'\]"):
        TabularBenchmark.from_file(tmp_path / "t.csv", arch_column="arch", metric_columns=["acc", "valid"])
    pd.concat([frame, frame.iloc[[3]]]).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(DataError, match="appears twice"):
        TabularBenchmark.from_file(tmp_path / "dup.csv", arch_column="arch")
    frame[["arch", "note"]].to_csv(tmp_path / "nometric.csv", index=False)
    with pytest.raises(DataError, match="no numeric metric column"):
        TabularBenchmark.from_file(tmp_path / "nometric.csv", arch_column="arch")
