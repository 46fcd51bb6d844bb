"""A user's weight-sharing method (``examples/plugins/random_supernet.py``) resumes after ``kill -9``: a comparison
killed in the middle of a seed's supernet training, run again, ends with the same tables as a run never killed
(issue #23: "resume after kill -9" for a method defined in one file outside the package)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from nasaudit.plugins import ENV
from nasaudit.train.checkpoint import CHECKPOINT_NAME

from .conftest import write_compare_spec

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plugins" / "random_supernet.py"


TABLES = ("summary.csv", "finals.csv")


def _folder(root: Path) -> Path:
    root.mkdir()
    shutil.copy(EXAMPLE, root / EXAMPLE.name)
    write_compare_spec(root, ["random_supernet"], epochs=4, seeds=2, rank_images=50, plugins=("random_supernet.py",))
    return root


def _run(folder: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != ENV}
    return subprocess.Popen([sys.executable, "-m", "nasaudit.cli.main", "run", "spec.yaml"], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    section = folder / "run" / "00-compare"
    return {name: pd.read_csv(section / name) for name in TABLES if (section / name).is_file()}


def test_a_plugin_method_killed_mid_seed_resumes_to_the_same_tables(tmp_path: Path) -> None:
    killed = _folder(tmp_path / "killed")
    first = _run(killed)
    deadline = time.monotonic() + 300
    while not list((killed / "run").rglob(CHECKPOINT_NAME)):  # a seed's supernet is part-trained
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate()
    assert first.returncode == -signal.SIGKILL
    assert not (killed / "run" / "00-compare" / "summary.csv").exists()

    again = _run(killed)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    whole = _folder(tmp_path / "whole")
    never_killed = _run(whole)
    _, err = never_killed.communicate(timeout=600)
    assert never_killed.returncode == 0, err

    resumed, reference = _tables(killed), _tables(whole)
    assert set(reference) == set(TABLES)
    for name in TABLES:
        pd.testing.assert_frame_equal(resumed[name], reference[name])
    assert "random_supernet" in set(reference["summary.csv"]["strategy"])
