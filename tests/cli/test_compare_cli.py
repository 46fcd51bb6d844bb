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


def test_a_surrogate_fitted_on_a_small_rnn_table_scores_the_8_node_space(tmp_path, capsys) -> None:
    """The table holds 12 trained 8-node cells, the population 2,000 sampled ones: ``--surrogate gp`` fits on the
    table's own cells (uniform draws with the audit's seed 3 would miss them) and scores the population (without it
    the comparison stops at the first cell the table lacks); DARTS and ENAS run beside random search."""
    from nasaudit.jobs.store import ResultStore
    from nasaudit.truth.builder import BuildSpec, build_benchmark, export_benchmark

    build = BuildSpec(space="rnn", sample=12, protocol="lm_cpu_small", dataset="jargon", seeds=(0,),
                      options={"epochs": 1, "emsize": 8, "nhid": 8, "bptt": 10, "batch_size": 16,
                               "text_prefix": [400, 100, 100]})
    with ResultStore(tmp_path / "build.db") as store:
        build_benchmark("rnn8", build, store, progress=False)
        export_benchmark("rnn8", store, tmp_path / "rnn8.csv", metric="test_score")
    enas = "weight_sharing.methods.enas_rnn"
    args = ["compare", "-t", str(tmp_path / "rnn8.csv"), "-m", "test_score", "--space", "rnn",
            "-s", "random,darts_rnn,enas_rnn", "--budget", "3", "--seeds", "1", "--ws-dataset", "jargon",
            "--surrogate", "gp", "--surrogate-samples", "10", "--ws-epochs", "1", "--ws-channels", "8",
            "--ws-batch-size", "8", "--set", "weight_sharing.train_tokens=200", "--set", "weight_sharing.rank_set=6",
            "--set", "weight_sharing.rank_images=40", "--set", f"{enas}.archs_per_epoch=2",
            "--set", f"{enas}.batches_per_arch=2", "--set", f"{enas}.controller_steps=1",
            "--set", f"{enas}.derive_samples=2", "--seed", "3", "-o", str(tmp_path / "run")]
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 0
    summary = pd.read_csv(tmp_path / "run" / "00-compare" / "summary.csv")
    assert summary["strategy"].tolist() == ["random", "darts_rnn", "enas_rnn"]
    assert summary["cost"].iloc[0].startswith("3 queries of surrogate (gp surrogate, fit once on 10 queries")
    assert summary["mean"].lt(0).all()
    with pytest.raises(SystemExit) as done:  # more samples than the table has cells: one line, nothing fitted
        main(["compare", "-t", str(tmp_path / "rnn8.csv"), "-m", "test_score", "--space", "rnn", "-s", "random",
              "--surrogate", "gp", "--surrogate-samples", "13", "-o", str(tmp_path / "too_many")])
    assert done.value.code != 0
    err = capsys.readouterr().err
    assert "holding 12 of them: set samples to 12 or fewer" in err and "Traceback" not in err
