"""One contract every evaluator passes (the seam of DESIGN.md): a float64 score per architecture, in order,
deterministic, the same architecture scored the same wherever it sits in the batch, ``space`` exposed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from nasaudit.evaluators import Evaluator
from nasaudit.spaces import get_space

SPACE = get_space("nb201").restrict(["skip_connect", "nor_conv_1x1", "nor_conv_3x3"])


def _table() -> Evaluator:
    from nasaudit.benchmarks.tabular import TabularBenchmark
    from nasaudit.resources import embedded_benchmark_path

    return TabularBenchmark.from_file(embedded_benchmark_path(), space=SPACE).evaluator("test_acc",
                                                                                         resolve="canonical")


def _surrogate() -> Evaluator:
    from nasaudit.benchmarks.surrogate import SurrogateBenchmark

    return SurrogateBenchmark.from_samples(_table(), n=40, seed=0)


def _supernet() -> Evaluator:
    from nasaudit.data.formats import read_embedded
    from nasaudit.data.splits import make_splits
    from nasaudit.supernet import SupernetEvaluator, train_supernet
    from nasaudit.supernet.training import SupernetConfig

    raw = read_embedded()
    splits = make_splits("embedded", raw.train_x[:200], raw.train_y[:200], raw.test_x[:32], raw.test_y[:32],
                         raw.num_classes, val_fraction=0.2, seed=0)
    config = SupernetConfig(mask=("none", "avg_pool_3x3"), channels=4, depth=1, epochs=1, batch_size=64,
                            flip=False)
    run = train_supernet(config, splits, seed=0)
    return SupernetEvaluator(run.supernet, run.splits)


def _trained() -> Evaluator:
    import tempfile
    from pathlib import Path

    from nasaudit.benchmarks.builder import BuildSpec
    from nasaudit.benchmarks.trained import TrainedEvaluator
    from nasaudit.jobs.job import freeze_options
    from nasaudit.jobs.store import ResultStore

    build = BuildSpec(ops=tuple(SPACE.ops), seeds=(0,), options=freeze_options({"epochs": 1, "channels": 2,
                                                                                 "cells_per_stage": 1}))
    store = ResultStore(Path(tempfile.mkdtemp()) / "runs.db")
    return TrainedEvaluator(SPACE, build, store)


EVALUATORS: dict[str, Callable[[], Evaluator]] = {"table": _table, "surrogate": _surrogate,
                                                  "supernet": _supernet, "trained": _trained}


@pytest.fixture(scope="module", params=list(EVALUATORS))
def evaluator(request: Any) -> Evaluator:
    return EVALUATORS[request.param]()


def test_scores_are_float64_in_order_and_deterministic(evaluator: Evaluator) -> None:
    archs = SPACE.sample_many(12, seed=0)
    scores = evaluator.evaluate(archs)
    assert isinstance(scores, np.ndarray) and scores.dtype == np.float64 and scores.shape == (12,)
    assert np.isfinite(scores).all()
    np.testing.assert_array_equal(evaluator.evaluate(archs), scores)
    np.testing.assert_array_equal(evaluator.evaluate(archs[::-1]), scores[::-1])
    np.testing.assert_array_equal(evaluator.evaluate(archs[3:4]), scores[3:4])


def test_space_is_exposed_and_an_empty_batch_scores_nothing(evaluator: Evaluator) -> None:
    assert set(evaluator.space.ops) == set(SPACE.ops)
    assert evaluator.evaluate([]).shape == (0,)
