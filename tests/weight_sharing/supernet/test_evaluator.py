from __future__ import annotations

import numpy as np
import pytest
import torch

from nasaudit.errors import ArchitectureError, ConfigError
from nasaudit.evaluators import Evaluator
from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator
from nasaudit.weight_sharing.supernet.modules import build_supernet
from nasaudit.weight_sharing.supernet.training import train_supernet


@pytest.fixture(scope="module")
def trained(tiny_splits):
    from nasaudit.weight_sharing.supernet.training import SupernetConfig

    torch.set_num_threads(1)
    return train_supernet(SupernetConfig(channels=4, depth=1, epochs=1, batch_size=96, flip=False), tiny_splits, seed=0)


def test_scores_are_accuracies_of_the_val_split_in_input_order(trained, tiny_splits) -> None:
    evaluator = SupernetEvaluator(trained.supernet, tiny_splits)
    assert isinstance(evaluator, Evaluator) and evaluator.n_images == len(tiny_splits.val)
    archs = trained.supernet.space.sample_many(12, 0)
    scores = evaluator.evaluate(archs)
    assert scores.dtype == np.float64 and scores.shape == (12,)
    assert ((scores >= 0) & (scores <= 100)).all()
    # each score is a count of correct images out of the validation split
    assert np.allclose(scores * len(tiny_splits.val) / 100, np.round(scores * len(tiny_splits.val) / 100))
    assert np.array_equal(evaluator.evaluate(archs[::-1]), scores[::-1])
    strings = [trained.supernet.space.format(a) for a in archs]
    assert np.array_equal(evaluator.evaluate(strings), scores)
    assert evaluator.evaluate([]).shape == (0,)
    one_by_one = SupernetEvaluator(trained.supernet, tiny_splits, archs_per_forward=1)
    assert evaluator.archs_per_forward > 1
    assert np.array_equal(one_by_one.evaluate(archs), scores)


def test_bn_recalibration_leaves_the_supernet_unchanged(trained, tiny_splits) -> None:
    before = {k: v.clone() for k, v in trained.supernet.state_dict().items()}
    momenta = [m.momentum for m in trained.supernet.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    evaluator = SupernetEvaluator(trained.supernet, tiny_splits, bn_batches=2, batch_size=64)
    archs = trained.supernet.space.sample_many(4, 1)
    recalibrated = evaluator.evaluate(archs)
    assert recalibrated.shape == (4,)
    assert all(torch.equal(v, trained.supernet.state_dict()[k]) for k, v in before.items())
    assert momenta == [m.momentum for m in trained.supernet.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert np.array_equal(evaluator.evaluate(archs), recalibrated)


def test_max_images_takes_a_fixed_subset(trained, tiny_splits) -> None:
    a = SupernetEvaluator(trained.supernet, tiny_splits, max_images=16, seed=5)
    b = SupernetEvaluator(trained.supernet, tiny_splits, max_images=16, seed=5)
    assert a.n_images == 16
    archs = trained.supernet.space.sample_many(5, 2)
    assert np.array_equal(a.evaluate(archs), b.evaluate(archs))


def test_bad_inputs(trained, tiny_splits) -> None:
    evaluator = SupernetEvaluator(trained.supernet, tiny_splits)
    with pytest.raises(ArchitectureError):
        evaluator.evaluate(["|bogus~0|+|none~0|none~1|+|none~0|none~1|none~2|"])
    with pytest.raises(ConfigError, match="split"):
        SupernetEvaluator(trained.supernet, tiny_splits, split="holdout")
    mixed = build_supernet(trained.supernet.space, num_classes=10, in_channels=1, channels=4, cells_per_stage=1,
                           mode="mixed")
    with pytest.raises(ConfigError, match="single-path"):
        SupernetEvaluator(mixed, tiny_splits)
