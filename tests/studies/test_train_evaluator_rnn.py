"""A ``train`` evaluator in an RNN space trains language models and scores them by -log perplexity (issue #25):
the final cells of an RNN comparison trained from scratch, as Table 1's PTB rows are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.errors import ConfigError

TINY = "{epochs: 1, emsize: 4, nhid: 4, bptt: 5, batch_size: 8, text_prefix: [80, 20, 20]}"


def spec(tmp_path: Path, metric: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(f"""
output: run
space: {{name: rnn_reduced}}
evaluators:
  fresh: {{kind: train, protocol: lm_cpu_small, dataset: jargon, seeds: [0], metric: {metric}, options: {TINY}}}
analyses:
  - {{kind: compare, evaluator: fresh, strategies: [random], budget: 2, seeds: 1}}
""")
    return path


def test_rnn_cells_trained_on_demand_are_scored_by_minus_log_perplexity(tmp_path: Path) -> None:
    run_spec(load_spec(spec(tmp_path, "test_score")))
    folder = tmp_path / "run" / "00-compare"
    queried = pd.read_csv(folder / "trajectories.csv")
    assert queried["arch"].str.startswith("Genotype(recurrent=").all()
    # -log perplexity of a tiny language model: finite, negative, and different per cell
    assert np.isfinite(queried["score"]).all() and (queried["score"] < 0).all() and queried["score"].nunique() == 2
    assert pd.read_csv(folder / "summary.csv")["cost"].iloc[0] == "2 queries of fresh"


def test_an_accuracy_metric_for_an_rnn_space_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="test_score or val_score"):
        load_spec(spec(tmp_path, "test_acc"))
