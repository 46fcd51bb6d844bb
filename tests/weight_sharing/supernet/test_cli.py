from __future__ import annotations

import pandas as pd
import pytest

from nasaudit.cli.main import main


def test_train_then_rank(nb201_csv, tmp_path, capsys) -> None:
    for seed in (0, 1):
        with pytest.raises(SystemExit) as done:
            main(["supernet", "train", "--out", str(tmp_path / f"s{seed}.pt"), "--ops", "none,skip_connect,nor_conv_1x1,nor_conv_3x3",
                  "--channels", "4", "--depth", "1", "--epochs", "1", "--batch-size", "256", "--no-flip",
                  "--seed", str(seed), "--device", "cpu"])
        assert done.value.code == 0
    with pytest.raises(SystemExit) as done:
        main(["supernet", "rank", str(tmp_path / "s0.pt"), str(tmp_path / "s1.pt"), "--table", str(nb201_csv),
              "--metric", "test_acc", "--dataset", "cifar10", "--n-random", "50", "--max-images", "32",
              "--strategies", "random", "--budget", "3", "--search-seeds", "2", "--out", str(tmp_path / "rank"),
              "--sharing-base", "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"])
    assert done.value.code == 0
    out = tmp_path / "rank" / "00-supernet_ranking"
    curve = pd.read_csv(out / "curve.csv")
    assert list(curve["n"])[:3] == [10, 25, 50] and curve["group"].iloc[-1] == "random"
    predictions = pd.read_csv(out / "predictions.csv")
    assert {"supernet_seed0", "supernet_seed1"} <= set(predictions.columns)
    assert len(pd.read_csv(out / "ws_comparison.csv")) == 2
    assert list(pd.read_csv(out / "amount_of_sharing.csv")["shared"]) == [0, 1, 2]
    for name in ("predictions.png", "top_n.png", "rank_disorder.png"):
        assert (out / name).is_file()


def test_bad_option_is_one_line_error(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["supernet", "train", "--out", str(tmp_path / "s.pt"), "--sampling", "greedy"])
    assert done.value.code == 2
    assert "sampling" in capsys.readouterr().err


def test_grid_command_runs_the_grid_study(tmp_path, capsys) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("""
experiment: tiny-grid
benchmark: embedded
metric: test_acc
seeds: [0, 1]
n_random: 20
base: {space: nb201, channels: 4, depth: 1, epochs: 1, batch_size: 256, flip: false}
masks: [[none, avg_pool_3x3]]
variants: {baseline: {}, uniform: {sampling: uniform}}
""")
    with pytest.raises(SystemExit) as done:
        main(["supernet", "grid", str(grid), "--out", str(tmp_path / "out")])
    assert done.value.code == 0, capsys.readouterr().err
    summary = pd.read_csv(tmp_path / "out" / "00-supernet_grid" / "grid_summary.csv")
    assert set(summary["variant"]) == {"baseline", "uniform"} and (summary["seeds"] == 2).all()
    assert (tmp_path / "out" / "report.html").is_file()
