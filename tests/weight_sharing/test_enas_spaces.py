"""ENAS on the DARTS and NB101 spaces (search-phase paper Table 1 CNN rows, Table 3B, App. C.6): tiny seeds derive
a member of the space searched, the controllers draw only members of a reduced space, and their log-probabilities,
entropies and REINFORCE updates equal a plain-torch replay (``nn.LSTMCell`` and ``Categorical``) with the same
weights."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.distributions import Categorical
from torch.func import functional_call

from nasaudit.errors import DataError
from nasaudit.search._darts_controller import DartsController, darts_decisions
from nasaudit.search._nb101_controller import NB101Controller
from nasaudit.search.controller import Reinforce, make_controller
from nasaudit.spaces import get_space
from nasaudit.spaces.nb101 import NB101Space
from nasaudit.spaces.subset import SubsetSpace
from nasaudit.testing import MethodContract
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.setup import WSSetup
from nasaudit.weight_sharing.training import run_training, search_space

TINY = {"controller_steps": 1, "controller_batch": 2, "derive_samples": 3}
#: DARTS on two ops, a one-cell supernet of 4 channels trained on a tenth of the digits
DARTS_TINY = {"space": "darts", "mask": ("avg_pool_3x3", "dil_conv_3x3", "dil_conv_5x5", "sep_conv_5x5", "skip_connect"),
              "channels": 4, "depth": 1, "batch_size": 128, "val_fraction": 0.9, "epochs": 1, "rank_images": 32}
NB101_TINY = {"space": "nb101", "max_vertices": 4, "channels": 4, "depth": 1, "batch_size": 128, "val_fraction": 0.9,
              "epochs": 1, "rank_images": 32}


def darts_setup(**changes: Any) -> WSSetup:
    space = search_space(WSSetup(**DARTS_TINY))  # type: ignore[arg-type]
    ranked = tuple(space.format(space.sample(i)) for i in range(3))
    return WSSetup(**{**DARTS_TINY, "rank_archs": ranked, **changes})  # type: ignore[arg-type]


def nb101_setup(**changes: Any) -> WSSetup:
    cells = tuple(str(a) for a in NB101Space(max_vertices=4).enumerate())[:12]
    return WSSetup(**{**NB101_TINY, "within": cells, "rank_archs": cells[:3], **changes})  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------- tiny seeds and the contract
@pytest.mark.parametrize("make_setup", [darts_setup, nb101_setup], ids=["darts", "nb101_reduced"])
def test_a_tiny_enas_seed_derives_an_architecture_of_the_space(make_setup: Callable[[], WSSetup]) -> None:
    torch.set_num_threads(1)
    setup = make_setup()
    outcome = run_training("enas", [get_method("enas", TINY)], setup, seed=0)
    assert search_space(setup).contains(outcome.finals["enas"])
    assert [len(s) for s in outcome.rank_scores] == [len(setup.rank_archs)]


@pytest.mark.parametrize("make_setup", [darts_setup, nb101_setup], ids=["darts", "nb101_reduced"])
def test_a_seed_killed_after_an_epoch_resumes_to_the_same_numbers(make_setup: Callable[..., WSSetup], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after epoch 2's controller updates (its state kept), before epoch 2's checkpoint: the rerun resumes
    the supernet and the controller from epoch 1 and ends as the run never killed."""
    from nasaudit.weight_sharing.methods import spos

    torch.set_num_threads(1)
    setup = make_setup(epochs=3)
    method = get_method("enas", TINY)
    whole = run_training("enas", [method], setup, seed=1, work_dir=tmp_path / "whole")
    original = spos.EpochRanking.on_epoch_end

    def killed_at_epoch_2(self: Any, record: Any) -> None:
        if record.epoch == 2:
            raise KeyboardInterrupt
        original(self, record)

    monkeypatch.setattr(spos.EpochRanking, "on_epoch_end", killed_at_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run_training("enas", [method], setup, seed=1, work_dir=tmp_path / "killed")
    assert (tmp_path / "killed" / "enas_2.pt").is_file()
    monkeypatch.setattr(spos.EpochRanking, "on_epoch_end", original)
    resumed = run_training("enas", [method], setup, seed=1, work_dir=tmp_path / "killed")
    assert resumed.finals == whole.finals and resumed.rank_scores == whole.rank_scores
    assert resumed.rank_epochs == whole.rank_epochs == [1, 2, 3]


def test_a_supernet_checkpoint_without_its_controller_is_one_line(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    setup = darts_setup(epochs=1)
    method = get_method("enas", TINY)
    run_training("enas", [method], setup, seed=0, work_dir=tmp_path)
    (tmp_path / "enas_1.pt").unlink()
    with pytest.raises(DataError, match="without the controller"):
        run_training("enas", [method], setup, seed=0, work_dir=tmp_path)


class TestENASOnDarts(MethodContract):
    @pytest.fixture
    def method_name(self) -> str:
        return "enas"

    @pytest.fixture
    def settings(self) -> dict[str, Any]:
        return TINY

    @pytest.fixture
    def setup(self) -> Any:
        return darts_setup()

    def test_a_tiny_seed_derives_a_member_and_ranks_reproducibly(self, method: Any, setup: Any,
                                                                 tmp_path: Path) -> None:
        torch.set_num_threads(1)
        super().test_a_tiny_seed_derives_a_member_and_ranks_reproducibly(method, setup, tmp_path)


class TestENASOnReducedNB101(TestENASOnDarts):
    @pytest.fixture
    def setup(self) -> Any:
        return nb101_setup()


def test_enas_is_defined_on_the_three_cell_spaces() -> None:
    enas = get_method("enas")
    assert all(enas.check(get_space(name), reduced=True) is None for name in ("nb201", "darts", "nb101"))
    assert "not 'rnn'" in (enas.check(get_space("rnn")) or "")


@pytest.mark.parametrize("name", ["darts", "nb101"])
def test_the_controllers_draw_only_members_of_a_reduced_space(name: str) -> None:
    base = get_space(name)
    space = SubsetSpace(base, base.sample_many(15, 0))
    controller = make_controller(space, seed=0)
    rng = np.random.default_rng(0)
    drawn = {controller.sample(rng).arch for _ in range(40)}
    assert drawn <= set(space.members) and len(drawn) > 5
    assert all(base.contains(make_controller(base, seed=1).sample(rng).arch) for _ in range(5))


def test_a_large_reduced_space_maps_each_draw_to_the_member_of_its_class(monkeypatch: pytest.MonkeyPatch) -> None:
    import nasaudit.search._lstm_policy as policy

    monkeypatch.setattr(policy, "TREE_LIMIT", 5)  # the 91 classes of 4-vertex cells count as many
    base = NB101Space(max_vertices=4)
    space = SubsetSpace(base, base.enumerate())
    controller = NB101Controller(space, seed=0)
    assert controller.members.tree is None
    rng = np.random.default_rng(0)
    assert {controller.sample(rng).arch for _ in range(30)} <= set(space.members)


# ------------------------------------------------------------------------- side by side with a plain-torch replay
def torch_lstm(weights: torch.Tensor) -> Callable[[torch.Tensor, tuple[torch.Tensor, torch.Tensor]],
                                                  tuple[torch.Tensor, torch.Tensor]]:
    """``nn.LSTMCell`` with the release's ``[x, h] @ w`` weights (gates i, f, o, g) in torch's layout (i, f, g, o)."""
    size = weights.shape[1] // 4
    i, f, o, g = weights.split(size, dim=1)
    stacked = torch.cat([i, f, g, o], dim=1)
    params = {"weight_ih": stacked[:size].T, "weight_hh": stacked[size:].T,
              "bias_ih": torch.zeros(4 * size), "bias_hh": torch.zeros(4 * size)}
    cell = nn.LSTMCell(size, size)
    return lambda x, hc: functional_call(cell, params, (x, hc))


def categorical(logits: torch.Tensor, allowed: list[bool]) -> Categorical:
    return Categorical(logits=logits.masked_fill(~torch.tensor(allowed), float("-inf")))


def replay_darts(c: DartsController, decisions: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability and entropy of ``decisions`` under the micro controller ``c``, computed afresh."""
    step, size = torch_lstm(c.lstm.weights[0]), c.lstm.size
    hc = (torch.zeros(1, size), torch.zeros(1, size))
    fixed = torch.tensor([0.25 if op.startswith("sep_conv") else -0.25 for op in c.base.ops])
    log_prob, entropy, k = torch.zeros(()), torch.zeros(()), 0
    for cell in ("normal", "reduce"):
        x, anchors, keys = c.g_emb, [], []
        for _ in range(2):
            hc = step(x, hc)
            anchors.append(torch.zeros(1, size))
            keys.append(hc[0] @ c.w_attn_1)
        for node in range(c.base.n_nodes):
            picks: list[int] = []
            for _ in range(2):
                hc = step(x, hc)
                scores = torch.stack([(torch.tanh(key + hc[0] @ c.w_attn_2) @ c.v_attn).sum() for key in keys])
                dist = categorical(1.10 * torch.tanh(scores), [i not in picks for i in range(node + 2)])
                log_prob, entropy = log_prob + dist.log_prob(torch.tensor(decisions[k])), entropy + dist.entropy()
                picks.append(decisions[k])
                x, k = anchors[decisions[k]], k + 1
            for _ in range(2):
                hc = step(x, hc)
                logits = (1.10 / 2.5) * torch.tanh(hc[0][0] @ c.w_soft + c.b_soft) + (fixed if cell == "normal" else 0)
                dist = categorical(logits, [True] * len(c.base.ops))
                log_prob, entropy = log_prob + dist.log_prob(torch.tensor(decisions[k])), entropy + dist.entropy()
                x, k = c.w_emb[decisions[k]][None], k + 1
            hc = step(x, hc)
            anchors.append(hc[0])
            keys.append(hc[0] @ c.w_attn_1)
            x = c.g_emb
    return log_prob, entropy


def replay_nb101(c: NB101Controller, decisions: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-probability and entropy of a raw NB101 draw's ``decisions``, computed afresh."""
    step, size, n = torch_lstm(c.lstm.weights[0]), c.lstm.size, c.base.max_vertices
    hc = step(c.g_emb, (torch.zeros(1, size), torch.zeros(1, size)))
    anchors, keys, x = [hc[0]], [hc[0] @ c.w_attn_1], c.g_emb
    log_prob, entropy, k, edges = torch.zeros(()), torch.zeros(()), 0, 0
    for j in range(1, n):
        if j < n - 1:
            hc = step(x, hc)
            dist = categorical(2.5 * torch.tanh(hc[0][0] @ c.w_soft / 5.0), [True] * len(c.base.ops))
            log_prob, entropy = log_prob + dist.log_prob(torch.tensor(decisions[k])), entropy + dist.entropy()
            x, k = c.w_emb[decisions[k]][None], k + 1
        hc = step(x, hc)
        inputs = []
        for key, anchor in zip(keys, anchors, strict=True):
            q = (torch.tanh(key + hc[0] @ c.w_attn_2) @ c.v_attn).sum()
            dist = categorical(2.5 * torch.tanh(torch.stack([-q, q]) / 5.0), [True, edges < c.base.max_edges])
            log_prob, entropy = log_prob + dist.log_prob(torch.tensor(decisions[k])), entropy + dist.entropy()
            if decisions[k]:
                inputs.append(anchor)
            edges, k = edges + decisions[k], k + 1
        x = torch.stack(inputs).sum(0) / (1 + len(inputs)) if inputs else torch.zeros(1, size)
        anchors.append(hc[0])
        keys.append(hc[0] @ c.w_attn_1)
    return log_prob, entropy


def test_the_micro_controllers_log_prob_and_entropy_equal_a_plain_torch_replay() -> None:
    space = get_space("darts")
    controller = DartsController(space, seed=5)
    rng = np.random.default_rng(5)
    for _ in range(3):
        sample = controller.sample(rng)
        log_prob, entropy = replay_darts(controller, darts_decisions(space, sample.arch))
        assert torch.allclose(sample.log_prob, log_prob, atol=1e-5) and torch.allclose(sample.entropy, entropy,
                                                                                       atol=1e-5)


def test_the_nb101_controllers_log_prob_and_entropy_equal_a_plain_torch_replay() -> None:
    controller = NB101Controller(get_space("nb101"), seed=5)
    rng = np.random.default_rng(5)
    for _ in range(4):
        _, _, decisions, log_prob, entropy = controller.draw_spec(rng)
        assert len(decisions) == 5 + 21
        again, again_entropy = replay_nb101(controller, decisions)
        assert torch.allclose(log_prob, again, atol=1e-5) and torch.allclose(entropy, again_entropy, atol=1e-5)


def test_a_reinforce_step_equals_the_plain_torch_policy_gradient() -> None:
    """Two updates: baseline ``b`` (first batch's mean, then decaying by 0.9), ``s`` the moving mean of
    ``(R - b)^2``; the gradient of ``mean(-(R - b) / sqrt(s) * sum log p - 1e-4 * H)`` for Adam(0.005)."""
    space = get_space("darts")
    learned = DartsController(space, seed=2)
    replayed = copy.deepcopy(learned)
    learner = Reinforce(learned)
    optimizer = torch.optim.Adam(replayed.parameters(), lr=0.005)
    rng = np.random.default_rng(2)
    baseline, scale = None, 0.0
    for rewards in ([50.0, 70.0, 61.0], [65.0, 40.0, 58.0]):
        samples = [learned.sample(rng) for _ in rewards]
        learner.update(samples, rewards)
        mean = float(np.mean(rewards))
        baseline = mean if baseline is None else 0.9 * baseline + 0.1 * mean
        spread = float(np.mean([(r - baseline) ** 2 for r in rewards]))
        scale = spread if scale == 0.0 else 0.9 * scale + 0.1 * spread
        terms = []
        for sample, reward in zip(samples, rewards, strict=True):
            log_prob, entropy = replay_darts(replayed, darts_decisions(space, sample.arch))
            terms.append(-(reward - baseline) / np.sqrt(scale) * log_prob - 1e-4 * entropy)
        optimizer.zero_grad()
        torch.stack(terms).mean().backward()
        assert learner.baseline == pytest.approx(baseline) and learner.scale == pytest.approx(scale)
        for mine, theirs in zip(learned.parameters(), replayed.parameters(), strict=True):
            assert mine.grad is not None and theirs.grad is not None  # Reinforce leaves its step's gradient
            assert torch.allclose(mine.grad, theirs.grad, rtol=1e-4, atol=1e-7)
        optimizer.step()
        for mine, theirs in zip(learned.parameters(), replayed.parameters(), strict=True):
            # Adam divides by sqrt(v): near-zero gradients that agree to 1e-7 may step apart; start both alike
            assert torch.allclose(mine, theirs, atol=2 * 0.005)
            theirs.data.copy_(mine.data)
