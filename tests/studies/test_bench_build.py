"""The bench_build study: a spec trains a small benchmark through the executor into the store, exports it, and a
rerun trains nothing."""

from __future__ import annotations

import pandas as pd

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.jobs.store import ResultStore

SPEC = """
output: run
space: {name: nb201, ops: [skip_connect, nor_conv_3x3]}
analyses:
  - kind: bench_build
    name: tiny
    sample: 2
    seeds: [0, 1]
    options: {epochs: 1, channels: 4, cells_per_stage: 1}
"""


def test_build_exports_and_resumes(tmp_path) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    run_spec(load_spec(tmp_path / "spec.yaml"))
    table = pd.read_csv(tmp_path / "run" / "00-bench_build" / "benchmark.csv")
    assert len(table) == 2 and {"test_acc_seed0", "test_acc_seed1"} <= set(table.columns)
    agreement = pd.read_csv(tmp_path / "run" / "00-bench_build" / "agreement.csv")
    assert agreement["architectures"].iloc[0] == 2
    with ResultStore(tmp_path / "run" / "results.sqlite") as store:
        before = store.runs()[["job_id", "finished_at"]].sort_values("job_id").reset_index(drop=True)
    assert len(before) == 4
    (tmp_path / "run" / "00-bench_build" / "section.json").unlink()  # force the study to run again
    run_spec(load_spec(tmp_path / "spec.yaml"))  # every training run is in the store: nothing retrains
    again = pd.read_csv(tmp_path / "run" / "00-bench_build" / "benchmark.csv")
    pd.testing.assert_frame_equal(table, again)
    with ResultStore(tmp_path / "run" / "results.sqlite") as store:
        after = store.runs()[["job_id", "finished_at"]].sort_values("job_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(before, after)
