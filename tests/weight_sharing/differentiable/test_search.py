"""Bilevel search: every algorithm, seeds, exact resume, fixed alpha, SGAS decisions, snapshots."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError
from nasaudit.train import loop as loop_module
from nasaudit.weight_sharing.differentiable.config import ALGORITHMS, SearchConfig
from nasaudit.weight_sharing.differentiable.search import SearchRun, batch_bounds, load_snapshot, search


def _same_state(a: SearchRun, b: SearchRun) -> bool:
    states = [(a.supernet.state_dict(), b.supernet.state_dict()), (a.alphas.state_dict(), b.alphas.state_dict())]
    return all(x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x) for x, y in states)


def _records(run: SearchRun) -> list[str]:
    return [repr((r.train_loss, r.train_acc, r.arch_loss, r.val_loss, r.val_acc, r.lr, r.tau)) for r in run.history]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_searches_and_records(algorithm: str, search_splits: DatasetSplits) -> None:
    run = search(SearchConfig.tiny(algorithm, epochs=2), search_splits, seed=0)
    assert [r.epoch for r in run.history] == [1, 2]
    assert all(math.isfinite(r.train_loss) and 0 <= r.val_acc <= 100 for r in run.history)
    assert math.isnan(run.history[0].arch_loss) == (algorithm == "fixed_alpha")
    assert run.history[0].lr == pytest.approx(0.025) and run.history[1].lr < 0.025
    assert [len(edge) for edge in run.history[-1].alpha["cell"]] == [5] * 6
    frame = run.alpha_frame()
    assert len(frame) == 2 * 6 * 5 and frame.groupby(["epoch", "edge"])["weight"].sum().round(6).eq(1).all()
    if algorithm == "gdas":
        assert [r.tau for r in run.history] == pytest.approx([10.0, 0.1])
    if algorithm == "sgas":  # tiny preset: one decision after every epoch
        assert sum(c >= 0 for c in run.projection.chosen["cell"]) == 2
    if algorithm != "fixed_alpha":
        assert not torch.equal(run.alphas.alpha["cell"], torch.zeros(6, 5))


def test_same_seed_same_search_other_seed_differs(search_splits: DatasetSplits) -> None:
    config = SearchConfig.tiny("sdarts_rs", epochs=1)
    a, b = search(config, search_splits, seed=3), search(config, search_splits, seed=3)
    assert _same_state(a, b) and _records(a) == _records(b)
    assert not torch.equal(a.alphas.alpha["cell"], search(config, search_splits, seed=4).alphas.alpha["cell"])


def test_fixed_alpha_stays_uniform(search_splits: DatasetSplits) -> None:
    run = search(SearchConfig.tiny("fixed_alpha", "darts_s3", epochs=1), search_splits, seed=0)
    for kind in ("normal", "reduce"):
        assert torch.equal(run.alphas.alpha[kind], torch.zeros(14, 3))
        torch.testing.assert_close(run.alphas.weights()[kind], torch.full((14, 3), 1 / 3))
        assert all(v == 0.0 for edge in run.history[-1].alpha[kind] for v in edge)


@pytest.mark.parametrize("algorithm", ["darts2", "gdas", "sgas", "drnas"])
def test_resume_is_bit_identical(algorithm: str, search_splits: DatasetSplits, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    config = SearchConfig.tiny(algorithm, epochs=2)
    whole = search(config, search_splits, seed=1)
    save = loop_module.save_checkpoint

    def save_then_stop(folder: Path, state: dict) -> None:
        save(folder, state)
        raise KeyboardInterrupt  # the run dies right after its first checkpoint

    monkeypatch.setattr(loop_module, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        search(config, search_splits, seed=1, checkpoint_dir=tmp_path)
    monkeypatch.setattr(loop_module, "save_checkpoint", save)
    resumed = search(config, search_splits, seed=1, checkpoint_dir=tmp_path)
    assert _same_state(whole, resumed) and _records(whole) == _records(resumed)
    assert resumed.projection == whole.projection
    assert (tmp_path / "snapshot.pt").is_file() and resumed.snapshot_paths[2] == tmp_path / "snapshot.pt"


def test_snapshot_round_trip(search_splits: DatasetSplits, tmp_path: Path) -> None:
    run = search(SearchConfig.tiny("sgas", epochs=1), search_splits, seed=0, checkpoint_dir=tmp_path,
                 snapshot_epochs=[1])
    snapshot = load_snapshot(run.snapshot_paths[1])
    assert snapshot.config == run.config and snapshot.epoch == 1 and snapshot.projection == run.projection
    supernet, alphas = snapshot.restore(search_splits)
    assert all(torch.equal(v, run.supernet.state_dict()[k]) for k, v in supernet.state_dict().items())
    assert torch.equal(alphas.alpha["cell"], run.alphas.alpha["cell"])


def test_config_errors(search_splits: DatasetSplits) -> None:
    with pytest.raises(ConfigError):
        SearchConfig(algorithm="enas")
    with pytest.raises(ConfigError):
        SearchConfig(space="rnn")
    with pytest.raises(ConfigError):
        SearchConfig(epochs=0)
    with pytest.raises(ConfigError):
        SearchConfig.tiny(mask=("conv_7x7",)).make_space()
    with pytest.raises(ConfigError):
        search(SearchConfig.tiny(), search_splits, seed=0, snapshot_epochs=[1])


def test_batch_bounds_never_leave_a_single_image() -> None:
    assert batch_bounds(129, 64) == [(0, 64), (64, 129)]
    assert batch_bounds(130, 64) == [(0, 64), (64, 128), (128, 130)]
    assert batch_bounds(1, 64) == [(0, 1)]
