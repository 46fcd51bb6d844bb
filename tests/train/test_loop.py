"""The one loop's options: thread determinism, per-epoch test metrics, warm-up, step state in checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
import torch

from nasaudit.data import Split, load_dataset
from nasaudit.data.augment import normalize
from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError
from nasaudit.nn.networks import build_network
from nasaudit.spaces import get_space
from nasaudit.train import EpochRecord, get_protocol, train
from nasaudit.train.batches import Batch, BatchSource, DeviceData
from nasaudit.train.loop import EpochStats, ModelStep, Schedule, StepContext, TrainLoop, TrainStep, epoch_seeds
from nasaudit.weight_sharing.supernet.training import SupernetConfig, train_supernet

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
PROTOCOL = get_protocol("cpu_small").with_overrides(epochs=2)


@pytest.fixture(scope="module")
def few() -> DatasetSplits:
    digits = load_dataset("embedded", val_fraction=0.2, seed=0)
    return replace(digits, train=Split(digits.train.x[:192], digits.train.y[:192]),
                   val=Split(digits.val.x[:64], digits.val.y[:64]), test=Split(digits.test.x[:96], digits.test.y[:96]))


@pytest.fixture
def ambient_threads() -> Iterator[int]:
    before = torch.get_num_threads()
    yield before
    torch.set_num_threads(before)


def _model(seed: int = 0) -> torch.nn.Module:
    space = get_space("nb201")
    torch.manual_seed(seed)
    return build_network(space.parse(ARCH), space, num_classes=10, in_channels=1, channels=4, cells_per_stage=1)


def _numbers(history: tuple[EpochRecord, ...] | list[EpochRecord]) -> list[tuple[float, ...]]:
    return [(r.lr, r.train_loss, r.train_acc, r.val_loss, r.val_acc) for r in history]


def test_numbers_do_not_depend_on_the_callers_thread_count(few, ambient_threads) -> None:
    runs = []
    for ambient in (1, 2):
        torch.set_num_threads(ambient)
        result = train(_model(), few, PROTOCOL, seed=3, progress=False)
        assert torch.get_num_threads() == ambient  # restored
        runs.append(result)
    assert _numbers(runs[0].history) == _numbers(runs[1].history)
    assert runs[0].test_loss == runs[1].test_loss
    supernets = []
    for ambient in (1, 2):
        torch.set_num_threads(ambient)
        supernets.append(train_supernet(SupernetConfig(channels=4, depth=1, epochs=1, batch_size=96, flip=False),
                                        few, seed=0))
    assert [r.train_loss for r in supernets[0].history] == [r.train_loss for r in supernets[1].history]
    assert all(torch.equal(a, b) for a, b in zip(supernets[0].supernet.state_dict().values(),
                                                 supernets[1].supernet.state_dict().values(), strict=True))


def test_the_thread_count_is_part_of_the_run(few, tmp_path) -> None:
    one = PROTOCOL.with_overrides(epochs=1)
    train(_model(), few, one, seed=0, progress=False, checkpoint_dir=tmp_path)
    with pytest.raises(ConfigError, match="different run"):
        train(_model(), few, one, seed=0, progress=False, checkpoint_dir=tmp_path, threads=2)
    with pytest.raises(ConfigError, match="threads must be a positive integer"):
        train(_model(), few, one, seed=0, progress=False, threads=0)


@torch.no_grad()
def _reference_test(model: torch.nn.Module, splits: DatasetSplits) -> tuple[float, float]:
    """Test loss and accuracy one image at a time, in float64 sums."""
    model.eval()
    mean, std = torch.tensor(splits.mean), torch.tensor(splits.std)
    loss, correct = 0.0, 0
    for i in range(len(splits.test)):
        logits = model(normalize(splits.test.x[i:i + 1], mean, std))
        loss += float(torch.nn.functional.cross_entropy(logits, splits.test.y[i:i + 1]))
        correct += int(logits.argmax(1).item() == splits.test.y[i].item())
    return loss / len(splits.test), 100.0 * correct / len(splits.test)


def test_test_metrics_after_every_epoch(few) -> None:
    model = _model()
    reference: list[tuple[float, float]] = []
    with_test = train(model, few, PROTOCOL, seed=1, progress=False, test_each_epoch=True,
                      on_epoch_end=lambda r: reference.append(_reference_test(model, few)))
    plain = train(_model(), few, PROTOCOL, seed=1, progress=False)
    assert _numbers(with_test.history) == _numbers(plain.history)  # scoring the test split changes nothing else
    for record, (loss, acc) in zip(with_test.history, reference, strict=True):
        assert record.test_acc == pytest.approx(acc, abs=1e-9)
        assert record.test_loss == pytest.approx(loss, rel=1e-5)
    assert (with_test.test_loss, with_test.test_acc) == (plain.test_loss, plain.test_acc)
    assert (with_test.history[-1].test_loss, with_test.history[-1].test_acc) == (plain.test_loss, plain.test_acc)
    assert with_test.curve()["test_acc"].notna().all() and plain.curve()["test_acc"].isna().all()


def test_warm_up_schedule() -> None:
    p = get_protocol("singlepath").with_overrides(epochs=10)  # per-epoch cosine
    schedule = Schedule(p, warmup_epochs=2)
    assert schedule.learning_rate(0.0) == 0.0 and schedule.learning_rate(1.0) == pytest.approx(p.lr / 2)
    assert schedule.learning_rate(3.0) == p.learning_rate(3.0)
    assert schedule.step_rate(0, 0, 4) == 0.0 and schedule.step_rate(2, 1, 4) is None
    assert Schedule(p, 2, at_step_end=True).step_rate(0, 0, 4) == pytest.approx(p.lr / 8)
    per_step = get_protocol("cpu_small")
    assert Schedule(per_step).step_rate(3, 1, 4) == per_step.learning_rate(3.25)
    with pytest.raises(ConfigError, match="warmup_epochs"):
        Schedule(p, -1)


def test_stand_alone_warm_up_starts_at_zero(few) -> None:
    result = train(_model(), few, PROTOCOL, seed=0, progress=False, warmup_epochs=1)
    assert result.history[0].lr == 0.0 and result.history[1].lr == PROTOCOL.learning_rate(1.0)


class _Crash(Exception):
    pass


class _CountingStep(TrainStep):
    """A model step with state of its own: how many images it has seen, and a running loss average."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.inner = ModelStep(model)
        self.images = 0
        self.average = torch.zeros(())

    def train_step(self, batch: Batch, rng: np.random.Generator, ctx: StepContext) -> None:
        before = ctx.loss_sum.clone()
        self.inner.train_step(batch, rng, ctx)
        self.images += batch.size
        self.average = 0.9 * self.average + 0.1 * (ctx.loss_sum - before) / batch.size

    def state_dict(self) -> dict[str, Any]:
        return {"images": self.images, "average": self.average}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.images, self.average = int(state["images"]), state["average"]


def test_a_steps_own_state_is_checkpointed_and_resumed(few, tmp_path) -> None:
    protocol = PROTOCOL.with_overrides(epochs=3)
    key = {"test": "counting"}

    def run(**kwargs: Any) -> tuple[_CountingStep, list[EpochRecord]]:
        model = _model()
        step = _CountingStep(model)
        loop = TrainLoop(model, step, few, protocol, torch.device("cpu"))
        history, _ = loop.run(seed=2, run_key=key, progress=False, **kwargs)
        return step, history

    straight, history = run()
    assert straight.images == 3 * len(few.train)

    def crash_after_two(record: EpochRecord) -> None:
        if record.epoch == 2:
            raise _Crash

    with pytest.raises(_Crash):
        run(checkpoint_dir=tmp_path, on_epoch_end=crash_after_two)
    resumed, resumed_history = run(checkpoint_dir=tmp_path)
    assert resumed.images == straight.images and torch.equal(resumed.average, straight.average)
    assert _numbers(resumed_history) == _numbers(history)
    model = _model()
    with pytest.raises(ConfigError, match="step state"):  # a stateless step refuses a stateful checkpoint
        TrainLoop(model, ModelStep(model), few, protocol, torch.device("cpu")).run(
            seed=2, run_key=key, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(ConfigError, match="evaluates the 'val' and 'test'"):
        TrainLoop(model, ModelStep(model), few, protocol, torch.device("cpu")).run(
            seed=2, run_key=key, evaluate=("train",), progress=False)


class _HalfBatches(BatchSource[Batch]):
    """Two batches per epoch: the first half of the training split, then the second, unshuffled, normalised."""

    def __init__(self, data: DeviceData) -> None:
        self.data = data

    def steps(self) -> int:
        return 2

    def epoch(self, epoch: int, generator: torch.Generator, rng: np.random.Generator) -> Iterator[Batch]:
        train = self.data.parts["train"]
        half = len(train) // 2
        for step, (a, b) in enumerate([(0, half), (half, len(train))]):
            x = normalize(train.x[a:b], self.data.mean, self.data.std)
            yield Batch(x, train.y[a:b], None, 1.0, epoch, step)


class _HookedStep(ModelStep):
    """A model step that logs every hook the loop calls, counts its own numbers and scores with its own rule."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model)
        self.calls: list[tuple[Any, ...]] = []

    def begin_epoch(self, epoch: int, lr: float) -> None:
        self.calls.append(("begin", epoch, lr))

    def train_step(self, batch: Batch, rng: np.random.Generator, ctx: StepContext) -> None:
        self.calls.append(("step", batch.epoch, batch.step, batch.size))
        super().train_step(batch, rng, ctx)

    def clip_gradients(self, model: torch.nn.Module, max_norm: float) -> None:
        self.calls.append(("clip", max_norm))

    def after_update(self, batch: Batch, rng: np.random.Generator, ctx: StepContext) -> None:
        self.calls.append(("after", batch.step))

    def end_epoch(self, epoch: int, stats: EpochStats) -> EpochStats:
        self.calls.append(("end", epoch))
        return EpochStats(stats.lr, float(epoch), 50.0)

    def evaluate(self, loop: TrainLoop[Batch], name: str, noise_seed: int) -> tuple[float, float]:
        self.calls.append(("evaluate", name))
        return float(noise_seed), 0.0


def test_a_steps_hooks_and_batch_source_drive_the_epoch(few) -> None:
    protocol = PROTOCOL.with_overrides(grad_clip=2.0)
    model = _model()
    step = _HookedStep(model)
    data = DeviceData(few, torch.device("cpu"))
    loop = TrainLoop(model, step, data, protocol, torch.device("cpu"), batches=_HalfBatches(data))
    assert loop.data is data  # splits already on the device are not copied again
    history, _ = loop.run(seed=0, run_key={}, evaluate=("val", "test"), progress=False)
    half = len(few.train) // 2
    for epoch in range(2):
        lr = protocol.learning_rate(epoch)
        expected = [("begin", epoch, lr), ("step", epoch, 0, half), ("clip", 2.0), ("after", 0),
                    ("step", epoch, 1, len(few.train) - half), ("clip", 2.0), ("after", 1), ("end", epoch),
                    ("evaluate", "val"), ("evaluate", "test")]
        assert step.calls[epoch * len(expected):(epoch + 1) * len(expected)] == expected
    # the record takes the step's own numbers and scores; the scores' noise seed is the epoch's data seed
    assert [(r.train_loss, r.train_acc) for r in history] == [(0.0, 50.0), (1.0, 50.0)]
    assert [r.val_loss for r in history] == [float(epoch_seeds(0, e)[1]) for e in range(2)]
    assert history[0].test_loss == history[0].val_loss
