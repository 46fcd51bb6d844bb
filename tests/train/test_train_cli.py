"""``nasaudit train``: prints the curve, writes a JSON record, turns bad input into one error line."""

from __future__ import annotations

import json

import pytest

from nasaudit.cli.main import main

ARCH = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


def test_train_command_writes_a_result_record(tmp_path, capsys):
    out = tmp_path / "result.json"
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--space", "nb201", "--arch", ARCH, "--protocol", "cpu_small", "--data", "embedded",
              "--epochs", "1", "--macro", "channels=4", "--quiet", "--out", str(out)])
    assert exit_info.value.code == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "train loss" in printed
    record = json.loads(out.read_text())
    assert record["arch"] == ARCH and record["protocol"] == "cpu_small" and len(record["history"]) == 1
    assert record["macro"] == {"channels": 4, "cells_per_stage": 1}


@pytest.mark.parametrize(("args", "message"), [
    (["--protocol", "nope"], "unknown training protocol"),
    (["--data", "cifar10"], "needs a data root"),
    (["--macro", "channels"], "KEY=VALUE"),
])
def test_train_command_reports_bad_input_in_one_line(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--space", "nb201", "--arch", ARCH, "--quiet", "--out", str(tmp_path / "r.json"), *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
