"""Convergence-speed summaries on hand-checkable curves."""

from __future__ import annotations

import pandas as pd
import pytest

from nasaudit.dynamics.convergence import convergence_summary
from nasaudit.errors import DataError


def _history() -> pd.DataFrame:
    rows = []
    for arch, curve in (("fast", [50.0, 90.0, 95.0, 100.0]), ("slow", [10.0, 30.0, 60.0, 100.0])):
        for epoch, acc in enumerate(curve, start=1):
            rows.append({"set": "s", "arch": arch, "seed": 0, "epoch": epoch, "train_loss": 1.0,
                         "train_acc": acc, "test_loss": 1.0 / epoch, "test_acc": acc})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=0)  # order must not matter


def test_epochs_to_fraction_and_area() -> None:
    summary = convergence_summary(_history(), "test_acc", fraction=0.9).set_index("arch")
    assert summary.loc["fast", "epochs_to_fraction"] == 2
    assert summary.loc["slow", "epochs_to_fraction"] == 4
    # trapezoid: (50+90)/2 + (90+95)/2 + (95+100)/2 = 260
    assert summary.loc["fast", "auc"] == pytest.approx(260.0)
    assert summary.loc["fast", "auc_mean"] == pytest.approx(260.0 / 3)
    assert summary.loc["slow", "auc"] == pytest.approx(20.0 + 45.0 + 80.0)
    assert (summary["final"] == 100.0).all()


def test_bad_input() -> None:
    with pytest.raises(DataError, match="lacks column"):
        convergence_summary(_history().drop(columns="seed"))
    with pytest.raises(DataError, match="fraction"):
        convergence_summary(_history(), fraction=1.5)
    doubled = pd.concat([_history(), _history()])
    with pytest.raises(DataError, match="more than one row"):
        convergence_summary(doubled)
