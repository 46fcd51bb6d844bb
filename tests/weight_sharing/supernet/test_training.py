from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from nasaudit.errors import ConfigError, DataError
from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator
from nasaudit.weight_sharing.supernet.training import SupernetConfig, SupernetEpoch, load_run, train_supernet


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_same_seed_same_weights_same_ranking(tiny_splits, tiny_config) -> None:
    first = train_supernet(tiny_config, tiny_splits, seed=3)
    second = train_supernet(tiny_config, tiny_splits, seed=3)
    other = train_supernet(tiny_config, tiny_splits, seed=4)
    assert _same_weights(first.supernet, second.supernet)
    assert not _same_weights(first.supernet, other.supernet)
    archs = first.supernet.space.sample_many(20, 0)
    a = SupernetEvaluator(first.supernet, tiny_splits).evaluate(archs)
    b = SupernetEvaluator(second.supernet, tiny_splits).evaluate(archs)
    assert np.array_equal(a, b)
    assert first.history[0].epoch == 1 and np.isfinite(first.history[0].train_loss)


class _Crash(Exception):
    pass


def test_resume_from_checkpoint_gives_the_uninterrupted_weights(tiny_splits, tiny_config, tmp_path) -> None:
    two = replace(tiny_config, epochs=2, sampling="uniform")
    straight = train_supernet(two, tiny_splits, seed=0)

    def crash_in_epoch_two(record: SupernetEpoch) -> None:  # before epoch 2's checkpoint
        if record.epoch == 2:
            raise _Crash

    with pytest.raises(_Crash):
        train_supernet(two, tiny_splits, seed=0, checkpoint_dir=tmp_path, on_epoch_end=crash_in_epoch_two)
    epochs_run: list[int] = []
    resumed = train_supernet(two, tiny_splits, seed=0, checkpoint_dir=tmp_path,
                             on_epoch_end=lambda r: epochs_run.append(r.epoch))
    assert epochs_run == [2]  # the first epoch came from the checkpoint
    assert _same_weights(resumed.supernet, straight.supernet)
    assert resumed.history[1].train_loss == straight.history[1].train_loss
    assert [r.epoch for r in resumed.history] == [1, 2]
    with pytest.raises(ConfigError, match="different run"):
        train_supernet(replace(two, epochs=3), tiny_splits, seed=0, checkpoint_dir=tmp_path)


def test_variants_train(tiny_splits, tiny_config) -> None:
    config = replace(tiny_config, mask=("none",), share_topology=False, linear_transformers=("skip", "pool"),
                     warmup_epochs=5, grad_clip=5.0, regularized=True)
    run = train_supernet(config, tiny_splits, seed=0)
    assert run.history[0].lr == pytest.approx(0.0)
    assert config.make_protocol().label_smoothing == 0.1 and config.make_protocol().grad_clip == 5.0
    assert "none" not in run.supernet.space.ops


def test_warmup_then_cosine_learning_rate() -> None:
    config = SupernetConfig(warmup_epochs=5)
    protocol = config.make_protocol()
    assert config.learning_rate(protocol, 2.5) == pytest.approx(0.5 * 0.025)
    assert config.learning_rate(protocol, 5.0) == pytest.approx(protocol.learning_rate(5.0))
    assert SupernetConfig().learning_rate(protocol, 0.0) == pytest.approx(0.025)


def test_sizes_and_options_round_trip() -> None:
    assert SupernetConfig().macro() == {"channels": 32, "cells_per_stage": 2}
    assert SupernetConfig(size="M").macro() == {"channels": 64, "cells_per_stage": 4}
    assert SupernetConfig(space="darts").macro() == {"channels": 16, "layers": 8}
    config = SupernetConfig(mask=("none", "avg_pool_3x3"), linear_transformers=("skip",), grad_clip=5.0)
    assert SupernetConfig.from_options(dict(config.to_options())) == config
    for bad in ({"size": "L"}, {"sampling": "greedy"}, {"linear_transformers": ("conv",)}, {"epochs": 0}):
        with pytest.raises(ConfigError):
            SupernetConfig(**bad)
    with pytest.raises(ConfigError, match="lacks"):
        SupernetConfig(mask=("sep_conv_3x3",)).make_space()
    with pytest.raises(ConfigError, match="unknown supernet option"):
        SupernetConfig.from_options({"width": 3})


def test_save_and_load_give_the_same_predictions(tiny_splits, tiny_config, tmp_path) -> None:
    run = train_supernet(tiny_config, "embedded", seed=0)
    path = run.save(tmp_path / "supernet.pt")
    loaded = load_run(path)
    archs = run.supernet.space.sample_many(10, 1)
    assert np.array_equal(SupernetEvaluator(run.supernet, run.splits).evaluate(archs),
                          SupernetEvaluator(loaded.supernet, loaded.splits).evaluate(archs))
    with pytest.raises(DataError, match="not found"):
        load_run(tmp_path / "missing.pt")


def test_darts_supernet_trains_with_uniform_paths(tiny_splits) -> None:
    config = SupernetConfig(space="darts", channels=4, depth=3, epochs=1, batch_size=144, sampling="uniform",
                            flip=False, mask=("sep_conv_5x5", "dil_conv_5x5"))
    run = train_supernet(config, tiny_splits, seed=0)
    assert np.isfinite(run.history[0].train_loss)
    scores = SupernetEvaluator(run.supernet, tiny_splits).evaluate(run.supernet.space.sample_many(3, 0))
    assert scores.shape == (3,)
    with pytest.raises(ConfigError, match="strictly fair"):
        train_supernet(replace(config, sampling="fair"), tiny_splits, seed=0)
