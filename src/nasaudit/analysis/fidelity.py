"""Multi-fidelity correlation: how well a cheap column (fewer epochs, halfway accuracy) ranks like the final one.

The tau over the whole table and within the top-N by the final column is the measure of the single-path
paper (Sec. 3.1-3.2: Kendall tau, tau at top-N) applied to two ground-truth fidelities instead of a supernet
and the truth, e.g. NB101's 4/12/36 vs 108 epochs or NB201's 12 vs 200 epochs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nasaudit.errors import DataError
from nasaudit.metrics import PAPER_TOP_NS, kendall_tau, kendall_tau_topn, spearman
from nasaudit.truth.tabular import TabularBenchmark

FIDELITY_COLUMNS: tuple[str, ...] = ("low", "final", "subset", "n", "kendall_tau", "spearman")


def fidelity_correlation(table: pd.DataFrame | TabularBenchmark, low: str | Sequence[str], final: str,
                         top_ns: Sequence[int] = PAPER_TOP_NS) -> pd.DataFrame:
    """Kendall tau (and Spearman) of each ``low`` column against ``final``, over all rows and the top-N.

    The top-N are the ``N`` best rows by ``final`` (single-path paper Sec. 3.2); sizes larger than the table
    are skipped. One tidy row per (low column, subset), columns ``FIDELITY_COLUMNS``.
    """
    frame = table.table if isinstance(table, TabularBenchmark) else table
    lows = [low] if isinstance(low, str) else list(low)
    missing = [c for c in [*lows, final] if c not in frame.columns]
    if missing:
        raise DataError(f"fidelity columns {missing} not in the table; it has {list(map(str, frame.columns))}")
    truth = frame[final].to_numpy(dtype=np.float64)
    sizes = sorted({int(n) for n in top_ns if 2 <= int(n) <= len(truth)})
    rows = []
    for column in lows:
        cheap = frame[column].to_numpy(dtype=np.float64)
        rows.append((column, final, "all", len(truth), kendall_tau(truth, cheap), spearman(truth, cheap)))
        order = np.argsort(-truth, kind="stable")
        for n in sizes:
            top = order[:n]
            rows.append((column, final, f"top-{n}", n, kendall_tau_topn(truth, cheap, n),
                         spearman(truth[top], cheap[top])))
    return pd.DataFrame.from_records(rows, columns=list(FIDELITY_COLUMNS))
