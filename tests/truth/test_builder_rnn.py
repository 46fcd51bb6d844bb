"""The benchmark builder on the reduced RNN space (search-phase paper Sec. 3.2, Table 3A): named cells trained as
tiny language models on a prefix of the shipped corpus, exported, read back by ``TabularBenchmark``; the checks
that keep image and text settings apart."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import nasaudit.truth.builder as builder
from nasaudit.errors import ArchitectureError, ConfigError
from nasaudit.jobs.store import ResultStore
from nasaudit.spaces import get_space
from nasaudit.truth import TabularBenchmark
from nasaudit.truth.builder import BuildSpec, build_benchmark, build_jobs, check_build, export_benchmark

CELLS = ("Genotype(recurrent=[('tanh', 0), ('relu', 1)], concat=range(1, 3))",
         "Genotype(recurrent=[('sigmoid', 0), ('identity', 0)], concat=range(1, 3))",
         "Genotype(recurrent=[('relu', 0), ('relu', 1)], concat=range(1, 3))")
#: lm_cpu_small at 16 dimensions, bptt 10, one epoch, on the first tokens of jargon's splits
TINY: dict[str, Any] = {"epochs": 1, "emsize": 16, "nhid": 16, "bptt": 10, "batch_size": 16,
                        "text_prefix": [800, 160, 160]}


def rnn_spec(**changes: Any) -> BuildSpec:
    settings: dict[str, Any] = {"space": "rnn_reduced", "protocol": "lm_cpu_small", "dataset": "jargon",
                                "seeds": (0, 1), "options": TINY, "archs": CELLS, **changes}
    return BuildSpec(**settings)


def test_named_cells_build_export_and_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fused: list[int] = []
    monkeypatch.setattr(builder, "train_jobs_fused", lambda jobs: fused.append(len(jobs)) or [])
    spec = rnn_spec()
    out = tmp_path / "rnn.csv"
    with ResultStore(tmp_path / "runs.db") as store:
        summary = build_benchmark("rnn", spec, store, progress=False)  # default fuse: 1 for the RNN family
        assert (summary.done, summary.complete, fused) == (6, True, [])
        table = export_benchmark("rnn", store, out, metric="test_score")
        runs = store.runs(space="rnn_reduced", status="done", include_curves=True)
    metrics = pd.DataFrame.from_records(runs["metrics"].tolist())
    assert {"val_ppl", "test_ppl", "val_loss", "test_loss", "val_score", "test_score", "params"} <= set(metrics)
    np.testing.assert_allclose(metrics["test_score"], -metrics["test_loss"])
    np.testing.assert_allclose(metrics["val_score"], -metrics["val_loss"])
    np.testing.assert_allclose(metrics["test_ppl"], np.exp(metrics["test_loss"]))
    curves = runs["curves"].iloc[0]
    assert len(curves["train_ppl"]) == len(curves["val_ppl"]) == len(curves["seconds"]) == 1
    assert curves["val_ppl"][0] == pytest.approx(math.exp(curves["val_loss"][0]))

    assert list(table["ArchitectureString"]) == list(CELLS)  # the genotype string round-trips as the column
    np.testing.assert_allclose(table["test_score"], (table["test_score_seed0"] + table["test_score_seed1"]) / 2)
    assert table["test_ppl"].gt(1).all() and "flops" not in table
    bench = TabularBenchmark.from_file(out, space="rnn_reduced")
    assert len(bench) == 3 and set(bench.archs()) == {get_space("rnn_reduced").parse(c) for c in CELLS}
    found = bench.evaluator("test_score").evaluate(list(reversed(CELLS)))
    np.testing.assert_allclose(found, table["test_score"].to_numpy()[::-1])
    ppl = bench.query([CELLS[1]], "test_ppl")[0]
    assert ppl == pytest.approx(float(table.loc[1, "test_ppl"]))
    meta = builder.read_metadata(out)
    assert meta["seed_agreement"]["metric"] == "test_score" and meta["architectures"] == 3


def test_options_are_part_of_the_job_identity() -> None:
    jobs = build_jobs(rnn_spec())
    assert len(jobs) == 6 and len({job.job_id for job in jobs}) == 6
    other = build_jobs(rnn_spec(options={**TINY, "text_prefix": [1000, 300, 300]}))
    assert not {job.job_id for job in jobs} & {job.job_id for job in other}


@pytest.mark.parametrize(("changes", "message"), [
    ({"dataset": "embedded"}, "'embedded' is an image dataset; space 'rnn_reduced' trains on a text dataset"),
    ({"dataset": "jargn"}, "unknown dataset 'jargn'"),
    ({"dataset": "ptb"}, "'ptb' needs --data-root"),
    ({"runtime": {"data_root": "."}}, "ships with the package"),
    ({"protocol": "cpu_small"}, "'cpu_small' is an image protocol; space 'rnn_reduced' takes a language-model"),
    ({"protocol": "lm_small"}, "unknown language-model protocol"),
    ({"options": {**TINY, "channels": 8}}, "unknown language-model option"),
    ({"options": {**TINY, "text_prefix": [5, 5]}}, "text_prefix"),
    ({"options": {**TINY, "bptt": 0}}, "bptt"),
    ({"space": "nb201", "archs": (), "options": {}}, "'jargon' is a text dataset; space 'nb201' trains on an image"),
    ({"space": "nb201", "archs": (), "options": {}, "dataset": "embedded"},
     "'lm_cpu_small' is a language-model protocol; space 'nb201' takes an image protocol"),
])
def test_check_build_refuses_the_other_kind_in_one_line(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        check_build(rnn_spec(**changes))
    assert "\n" not in str(error.value)


def test_check_build_accepts_the_tiny_build_and_refuses_a_foreign_cell() -> None:
    check_build(rnn_spec())
    with pytest.raises(ArchitectureError):
        check_build(rnn_spec(archs=("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",)))
