"""``nasaudit compare`` with a weight-sharing method beside query-based strategies, on two worker processes."""

from __future__ import annotations

import pandas as pd
import pytest

from nasaudit.cli.main import main


def test_compare_runs_weight_sharing_seeds_on_processes(tmp_path) -> None:
    args = ["compare", "-t", "embedded", "-m", "test_acc", "--ops", "skip_connect,nor_conv_1x1,nor_conv_3x3",
            "-s", "random,reinforce,spos_evolution", "--budget", "5", "--seeds", "2", "--within-truth",
            "--ws-epochs", "1", "--executor", "processes", "--workers", "2", "-o", str(tmp_path)]
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 0
    summary = pd.read_csv(tmp_path / "00-compare" / "summary.csv")
    assert summary["strategy"].tolist() == ["random", "reinforce", "spos_evolution"]
    assert summary["weight_sharing"].tolist() == [False, False, True]


def test_an_unknown_method_is_one_line_with_a_suggestion(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["compare", "-t", "embedded", "-m", "test_acc", "-s", "random,darts_pta", "-o", str(tmp_path)])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "darts_pt" in err and "Traceback" not in err
