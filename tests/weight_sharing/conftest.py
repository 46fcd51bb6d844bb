"""``tiny_compare``: a method's test runs it through the ``compare`` study at tiny size (the embedded table's
reduced NB201 space, tiny supernets on the embedded digits) and reads the section's tables; ``write_compare_spec``
writes such a spec for tests that run it otherwise (with a plugin, in a killed process)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.data.formats import read_embedded
from nasaudit.data.splits import DatasetSplits, make_splits
from nasaudit.weight_sharing.setup import WSSetup

TinyCompare = Callable[..., Path]


def write_compare_spec(folder: Path, strategies: list[str], settings: dict[str, dict[str, Any]] | None = None, *,
                       epochs: int = 1, seeds: int = 1, within_truth: bool = True, rank_images: int = 64,
                       plugins: tuple[str, ...] = ()) -> Path:
    """``folder/spec.yaml``: ``compare`` of ``strategies`` on the embedded table's NB201 space of three ops, budget
    5, ``seeds`` seeds of ``epochs`` supernet epochs ranking 8 architectures on ``rank_images`` images, the methods'
    own ``settings``, loading ``plugins`` (files in ``folder``) first."""
    spec = {"output": "run", "plugins": list(plugins),
            "space": {"name": "nb201", "ops": ["skip_connect", "nor_conv_1x1", "nor_conv_3x3"]},
            "evaluators": {"truth": {"kind": "table", "path": "embedded", "metric": "test_acc"}},
            "analyses": [{"kind": "compare", "evaluator": "truth", "strategies": strategies, "budget": 5,
                          "seeds": seeds, "within_truth": within_truth,
                          "weight_sharing": {"epochs": epochs, "rank_set": 8, "rank_images": rank_images,
                                             "methods": settings or {}}}]}
    path = folder / "spec.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    return path


@pytest.fixture
def tiny_compare(tmp_path: Path) -> TinyCompare:
    """Run ``compare`` with ``strategies`` (and ``random``), ``seeds`` seeds of ``epochs`` supernet epochs and
    the methods' own ``settings``, within the truth's architectures or not; return the section's folder."""

    def run(strategies: list[str], settings: dict[str, dict[str, Any]] | None = None, *, epochs: int = 1,
            seeds: int = 1, within_truth: bool = True) -> Path:
        run_spec(load_spec(write_compare_spec(tmp_path, ["random", *strategies], settings, epochs=epochs,
                                              seeds=seeds, within_truth=within_truth)))
        return tmp_path / "run" / "00-compare"

    return run


@pytest.fixture
def runs_in_comparison(tiny_compare: TinyCompare) -> Callable[..., Path]:
    """Run ``method`` alone beside ``random`` (``tiny_compare``'s keywords) and check what every method of the
    comparison shows: its weight-sharing row with a mean accuracy, the ranking of its ``training`` (default: its
    name) and final cells inside the searched space; return the section's folder."""
    import pandas as pd

    from nasaudit.spaces import get_space

    def run(method: str, training: str | None = None, **kwargs: Any) -> Path:
        folder = tiny_compare([method], **kwargs)
        row = pd.read_csv(folder / "summary.csv").set_index("strategy").loc[method]
        assert bool(row["weight_sharing"]) and 0 < row["mean"] <= 100
        assert pd.read_csv(folder / "ws_ranking.csv")["method"].tolist() == [training or method]
        finals = pd.read_csv(folder / "finals.csv")
        space = get_space("nb201")
        assert all(space.contains(space.parse(a)) for a in finals.loc[finals["strategy"] == method, "arch"])
        return folder

    return run


@pytest.fixture(scope="session")
def tiny_splits() -> DatasetSplits:
    """320 real digits (8x8, one channel): 288 train, 32 validation, 64 test."""
    raw = read_embedded()
    keep = np.arange(320)
    return make_splits("embedded", raw.train_x[keep], raw.train_y[keep], raw.test_x[:64], raw.test_y[:64],
                       raw.num_classes, val_fraction=0.1, seed=0)


def rnn_setup(**changes: Any) -> WSSetup:
    """A tiny RNN setup: the reduced 2-node space within its first 12 cells, 2 epochs of an 8-unit language model on
    600 Jargon tokens, ranking 4 cells on 100 validation tokens (``changes`` override any of it)."""
    from nasaudit.spaces import get_space

    space = get_space("rnn_reduced")
    cells = tuple(space.format(a) for a in space.enumerate())
    values: dict[str, Any] = {"space": "rnn_reduced", "dataset": "jargon", "epochs": 2, "channels": 8,
                              "batch_size": 8, "within": cells[:12], "rank_archs": cells[:4], "rank_images": 100,
                              "train_tokens": 600, **changes}
    return WSSetup(**values)
