"""The metric note of table-scored studies: it names what the table really has."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from nasaudit.studies._common import TEST_AS_VALIDATION, metric_notes
from nasaudit.truth.tabular import TabularBenchmark

ARCHS = ["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|none~2|",
         "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|none~2|"]


def _context(frame: pd.DataFrame, metric: str) -> SimpleNamespace:
    bench = TabularBenchmark.from_frame(frame, "nb201")
    scored = SimpleNamespace(benchmark=bench, column=bench.column(metric))
    return SimpleNamespace(scored=lambda name: scored)


def test_a_table_without_validation_says_test_stands_in() -> None:
    context = _context(pd.DataFrame({"ArchitectureString": ARCHS, "test_acc": [90.0, 91.0]}), "test_acc")
    assert metric_notes(context, "truth") == [TEST_AS_VALIDATION]  # type: ignore[arg-type]


def test_a_table_with_validation_does_not_claim_it_has_none() -> None:
    frame = pd.DataFrame({"ArchitectureString": ARCHS, "val_acc": [1.0, 2.0], "test_acc": [90.0, 91.0]})
    notes = metric_notes(_context(frame, "test_acc"), "truth")  # type: ignore[arg-type]
    assert len(notes) == 1 and "no validation column" not in notes[0] and "val_acc" in notes[0]


def test_a_validation_metric_needs_no_note() -> None:
    frame = pd.DataFrame({"ArchitectureString": ARCHS, "val_acc": [1.0, 2.0], "test_acc": [90.0, 91.0]})
    assert metric_notes(_context(frame, "val_acc"), "truth") == []  # type: ignore[arg-type]
