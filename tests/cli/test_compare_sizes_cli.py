"""``nasaudit compare`` reaches the supernet size every weight-sharing method shares (issue #22 items 5-6)."""

from __future__ import annotations

import pandas as pd

from nasaudit.cli.main import main


def test_the_supernet_size_flags_reach_every_method(tmp_path) -> None:
    args = ["compare", "-t", "embedded", "-m", "test_acc", "--ops", "skip_connect,nor_conv_1x1,nor_conv_3x3",
            "-s", "random,spos_evolution,gdas", "--budget", "3", "--seeds", "1", "--within-truth", "--ws-epochs", "1",
            "--ws-channels", "6", "--ws-depth", "2", "--ws-batch-size", "128", "--set", "weight_sharing.rank_set=20",
            "--set", "weight_sharing.rank_images=200", "-o", str(tmp_path)]
    try:
        main(args)
    except SystemExit as done:
        assert done.code in (0, None)
    summary = pd.read_csv(tmp_path / "00-compare" / "summary.csv").set_index("strategy")
    for method in ("spos_evolution", "gdas"):
        assert "(6 channels, 2 cell(s) per stage, batch 128)" in summary.at[method, "cost"]
