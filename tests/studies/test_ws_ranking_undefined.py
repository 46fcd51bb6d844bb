"""A supernet whose score of a ranked cell is undefined (NaN: a diverged hidden state while scoring) still gets its
Kendall tau, with that cell ranked last, instead of stopping the comparison."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nasaudit.studies._ws_compare import ranking_tables, undefined_last


def test_undefined_scores_tie_below_the_lowest_defined_one() -> None:
    np.testing.assert_array_equal(undefined_last([0.5, np.nan, -1.0, np.inf]), [0.5, -2.0, -1.0, -2.0])
    np.testing.assert_array_equal(undefined_last([np.nan, np.nan]), [0.0, 0.0])


def test_a_nan_score_ranks_the_cell_last_in_the_tau() -> None:
    truth = np.array([4.0, 3.0, 2.0, 1.0])
    results = pd.DataFrame({"training": ["enas_rnn"], "seed": [0], "finals": [[]], "rank_epochs": [[1, 2]],
                            "rank_scores": [[[4.0, 3.0, 2.0, 1.0], [4.0, 3.0, 2.0, np.nan]]], "seconds": [0.0]})
    epochs, summary, _ = ranking_tables(results, ["a", "b", "c", "d"], truth)
    assert epochs["kendall_tau"].tolist() == [1.0, 1.0]
    assert summary["tau_mean"].iloc[0] == 1.0
