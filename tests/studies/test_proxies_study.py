"""The proxies study on 20 cells of the embedded table (tiny networks, one small batch) and its command."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import spec_from_data
from nasaudit.cli.analyze import app
from nasaudit.errors import ConfigError
from nasaudit.metrics import kendall_tau

OPS = ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]  # the embedded table's space
STUDY = {"kind": "proxies", "evaluator": "truth", "proxies": ["synflow", "params", "jacov"], "seeds": [0, 1],
         "archs": 20, "proxy_dataset": "embedded", "batch_size": 8, "k": 5}


def _spec(tmp_path: Path, **study: object) -> dict:
    return {"name": "p", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": "nb201", "ops": OPS},
            "evaluators": {"truth": {"kind": "table", "path": "embedded", "metric": "test_acc"}},
            "analyses": [{**STUDY, **study}]}


def test_every_proxy_and_seed_is_ranked_against_the_truth(tmp_path: Path) -> None:
    Runner(spec_from_data(_spec(tmp_path), tmp_path)).run()
    folder = tmp_path / "run" / "00-proxies"
    summary = pd.read_csv(folder / "proxies.csv").set_index("proxy")
    scores = pd.read_csv(folder / "proxy_scores.csv")
    assert sorted(summary.index) == ["jacov", "params", "synflow"] and len(scores) == 20
    for name in summary.index:  # the table's numbers are those of the stored scores
        taus = [kendall_tau(scores["truth"], scores[f"{name}@{seed}"]) for seed in (0, 1)]
        assert np.isclose(summary.loc[name, "kendall_tau"], np.mean(taus))
    assert np.isclose(summary.loc["params", "seed_to_seed_tau"], 1.0)  # a count does not depend on the seed
    assert summary.loc["synflow", "seed_to_seed_tau"] < 1.0
    assert {"spearman", "tau_top10", "p_at_5"} <= set(summary.columns)
    assert (folder / "proxies.png").is_file() and (folder / "truth_ceiling.csv").is_file()


def test_two_runs_write_the_same_scores(tmp_path: Path) -> None:
    tables = []
    for run in ("a", "b"):
        Runner(spec_from_data(_spec(tmp_path / run, proxies=["grad_norm"]), tmp_path)).run()
        tables.append((tmp_path / run / "run" / "00-proxies" / "proxy_scores.csv").read_bytes())
    assert tables[0] == tables[1]


def test_the_command_runs_the_study_and_refuses_an_unknown_proxy(tmp_path: Path) -> None:
    args = ["proxies", "--table", "embedded", "--ops", ",".join(OPS), "--archs", "6", "--proxy-dataset", "embedded",
            "--batch-size", "8", "--proxy-seeds", "0", "--set", "k=3"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "run"), "--proxies", "params,l2_norm"])
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "run" / "00-proxies" / "proxy_scores.csv")) == 6
    bad = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "bad"), "--proxies", "snipp"])
    assert isinstance(bad.exception, ConfigError)  # the entry point prints a ConfigError as its one line
    assert "unknown proxy 'snipp' (did you mean 'snip'?)" in str(bad.exception) and "\n" not in str(bad.exception)


def test_a_proxy_is_the_search_signal_of_compare_beside_random_search(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    spec["evaluators"]["zc"] = {"kind": "proxy", "proxy": "synflow", "dataset": "embedded", "batch_size": 8}
    spec["analyses"] = [{"kind": "compare", "evaluator": "zc", "truth": "truth", "strategies": ["random", "local"],
                         "budget": 6, "seeds": 2, "within_truth": True}]
    Runner(spec_from_data(spec, tmp_path)).run()
    summary = pd.read_csv(tmp_path / "run" / "00-compare" / "summary.csv").set_index("strategy")
    assert list(summary.index) == ["random", "local"]
    assert (summary["budget"] == 6).all()
    assert summary["mean"].between(50, 100).all()  # the found cells are scored by the truth table (%), not synflow
