"""FairNAS (Chu et al. 2021, Algorithm 1): strict fairness on a tiny supernet against a hand-written loop of the
rule, its config and cost, and a tiny ``compare`` seed."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from nasaudit.data.formats import read_embedded
from nasaudit.data.splits import make_splits
from nasaudit.testing.methods import EMBEDDED_MASK
from nasaudit.train.batches import Batch, BatchSource
from nasaudit.train.loop import TrainLoop
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.methods.fairnas import STRICT_FAIR, fair_sampler, supernet_config
from nasaudit.weight_sharing.supernet.sampling import PathSampler
from nasaudit.weight_sharing.supernet.training import PathStep, SupernetConfig


class _OneBatch(BatchSource[Batch]):
    """An epoch of exactly one fixed batch: one optimiser step."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch

    def steps(self) -> int:
        return 1

    def epoch(self, epoch: int, generator: torch.Generator, rng: np.random.Generator) -> Iterator[Batch]:
        yield self.batch


class _Recorded:
    """The FairNAS sampler, keeping the paths of each step it drew."""

    def __init__(self, sampler: PathSampler) -> None:
        self.sampler = sampler
        self.drawn: list[np.ndarray] = []

    def step(self, rng: np.random.Generator) -> np.ndarray:
        paths = self.sampler.step(rng)
        self.drawn.append(paths.copy())
        return paths


def _every_op_once_per_block(paths: np.ndarray, m: int) -> bool:
    """Over the ``m`` paths of a step, each choice block (cell, edge) takes each of its ``m`` ops exactly once."""
    return paths.shape[0] == m and bool((np.sort(paths, axis=0) == np.arange(m)[:, None, None]).all())


@pytest.mark.parametrize("share_topology", [True, False])
def test_one_step_trains_every_op_of_every_block_once_accumulated_into_one_update(share_topology: bool) -> None:
    raw = read_embedded()
    splits = make_splits("embedded", raw.train_x[:48], raw.train_y[:48], raw.test_x[:8], raw.test_y[:8],
                         raw.num_classes, val_fraction=0.25, seed=0)
    config = SupernetConfig(mask=EMBEDDED_MASK, channels=4, depth=1, epochs=1, batch_size=16, flip=False,
                            share_topology=share_topology)
    protocol = config.make_protocol().with_overrides(weight_decay=0.0)  # the update is then -lr x the gradient
    torch.manual_seed(0)
    supernet = config.build(splits)
    hand = copy.deepcopy(supernet)
    batch = Batch(splits.train.x[:16].float() / 255.0, splits.train.y[:16], None, 1.0, 0, 0)

    sampler = _Recorded(fair_sampler(supernet, config))
    loop = TrainLoop(supernet, PathStep(supernet, sampler), splits, protocol, torch.device("cpu"),
                     config.schedule(protocol), batches=_OneBatch(batch))
    loop.train_epoch(0, seed=3)
    lr = loop.optimizer.param_groups[0]["lr"]

    # the rule: m = |O| paths, every op of every choice block exactly once among them
    (paths,) = sampler.drawn
    m = 3  # the ops left by the mask
    assert _every_op_once_per_block(paths, m) and paths.shape == (m, supernet.n_cells, 6)
    assert (paths == paths[:, :1]).all() == share_topology  # one choice block per edge, or per cell and edge

    # the rule by hand on the same weights and batch: the m paths' gradients summed, then one update
    hand.train()
    criterion = nn.CrossEntropyLoss()
    for p in hand.parameters():
        p.grad = None
    for path in paths:
        criterion(hand(batch.x, path), batch.y).backward()
    with torch.no_grad():
        for p in hand.parameters():
            if p.grad is not None:
                p.sub_(lr * p.grad)
    ours, theirs = supernet.state_dict(), hand.state_dict()
    assert ours.keys() == theirs.keys()
    for key in ours:  # weights and the batch-norm statistics of the m forward passes
        assert torch.allclose(ours[key].float(), theirs[key].float(), rtol=0.0, atol=1e-6), key
    # one optimiser step: SGD's momentum buffer holds exactly the summed gradient (m steps would have mixed them)
    state = loop.optimizer.state
    for p_ours, p_hand in zip(supernet.parameters(), hand.parameters(), strict=True):
        if p_hand.grad is not None:
            assert torch.allclose(state[p_ours]["momentum_buffer"], p_hand.grad, rtol=0.0, atol=1e-6)


def test_the_permutations_are_independent_per_block_and_step() -> None:
    torch.manual_seed(0)
    config = SupernetConfig(mask=EMBEDDED_MASK, channels=4, depth=1)
    raw = read_embedded()
    splits = make_splits("embedded", raw.train_x[:32], raw.train_y[:32], raw.test_x[:8], raw.test_y[:8],
                         raw.num_classes, val_fraction=0.25, seed=0)
    sampler = fair_sampler(config.build(splits), config)
    rng = np.random.default_rng(0)
    steps = [sampler.step(rng) for _ in range(50)]
    assert all(_every_op_once_per_block(s, 3) for s in steps)
    firsts = np.stack([s[:, 0, :] for s in steps])  # (steps, m, edges) of the shared cell
    assert len({tuple(f[:, 0]) for f in firsts}) == 6  # all 3! orders of an edge occur
    assert any(len({tuple(f[:, e]) for e in range(6)}) > 1 for f in firsts)  # edges permute independently


def test_config_is_strictly_fair_and_cost_counts_m_passes_per_step() -> None:
    from nasaudit.spaces import get_space
    from nasaudit.testing.methods import embedded_cells
    from nasaudit.weight_sharing.cost import single_path_work
    from nasaudit.weight_sharing.setup import WSSetup

    cells = embedded_cells(30)
    setup = WSSetup(space="nb201", mask=EMBEDDED_MASK, within=tuple(cells), epochs=1, rank_archs=tuple(cells[:8]),
                    rank_images=64, batch_size=128, val_fraction=0.3)
    assert supernet_config(setup, get_space("nb201")).sampling == STRICT_FAIR == "fair"
    method = get_method("fairnas", {"evolution_budget": 7})
    fair, uniform = single_path_work(setup, "fair"), single_path_work(setup, "uniform")
    assert fair.training == pytest.approx(3 * uniform.training)  # m = 3 forward/backward passes per step
    assert method.cost(setup) == pytest.approx(fair.training + 7 * fair.query)
    described = method.describe_cost(setup, "nb201")
    assert "3 paths per step" in described and "7 supernet queries" in described
    assert method.check(get_space("darts")) is not None and method.check(get_space("nb201"), reduced=True) is None


def test_a_tiny_compare_seed_runs_fairnas(runs_in_comparison: Callable[..., Path]) -> None:
    runs_in_comparison("fairnas", settings={"fairnas": {"evolution_budget": 5}})
