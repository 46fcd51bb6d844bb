"""The weight-sharing methods of the RNN spaces (``darts_rnn``, ``enas_rnn``) and their networks
(``nn.rnn_search``): the equations checked against plain torch, derivation, and tiny end-to-end seeds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from nasaudit.errors import ConfigError
from nasaudit.nn.rnn_cell import DARTSRNNCell
from nasaudit.nn.rnn_search import (
    SEARCH_PRIMITIVES,
    DARTSSearchCell,
    ENASSharedCell,
    RNNController,
    decision_tree,
    derive_darts_genotype,
    one_hot_weights,
)
from nasaudit.spaces import get_space
from nasaudit.spaces.rnn import RNNGenotype, parse_rnn_genotype
from nasaudit.train.checkpoint import CHECKPOINT_NAME, read_state
from nasaudit.weight_sharing import text_search
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.setup import WSSetup
from nasaudit.weight_sharing.training import run_training, search_space

ACTS = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda t: t}


def _bn(s: torch.Tensor) -> torch.Tensor:
    return (s - s.mean(0)) / torch.sqrt(s.var(0, unbiased=False) + 1e-5)


def test_darts_search_cell_is_the_release_equations() -> None:
    torch.manual_seed(0)
    cell = DARTSSearchCell(4, 4, 2, dropouth=0.5, dropoutx=0.5)
    cell.reset_parameters(torch.Generator().manual_seed(1))
    cell.alpha = torch.randn(3, 5)
    x, h = torch.randn(2, 3, 4), torch.randn(1, 3, 4)
    cell.train()
    out, last = cell(x, h, torch.Generator().manual_seed(7))
    g = torch.Generator().manual_seed(7)  # the masks, drawn as the cell draws them: x first, then h
    xm = torch.bernoulli(torch.full((3, 4), 0.5), generator=g) / 0.5
    hm = torch.bernoulli(torch.full((3, 4), 0.5), generator=g) / 0.5
    w0, w1, w2 = cell._W0.detach(), cell._Ws[0].detach(), cell._Ws[1].detach()
    p = torch.softmax(cell.alpha, -1)
    state = h[0]
    for t in range(2):
        c0, h0 = torch.cat([x[t] * xm, state * hm], 1).mm(w0).split(4, 1)
        s0 = _bn(state + torch.sigmoid(c0) * (torch.tanh(h0) - state))
        c, hh = (s0 * hm).mm(w1).split(4, 1)  # node 1 reads s0 (row 0)
        s1 = _bn(sum(p[0, k] * (s0 + torch.sigmoid(c) * (ACTS[op](hh) - s0))
                     for k, op in enumerate(SEARCH_PRIMITIVES) if op != "none"))
        s2 = torch.zeros_like(s0)
        for row, prev in ((1, s0), (2, s1)):  # node 2 reads s0 (row 1) and s1 (row 2)
            c, hh = (prev * hm).mm(w2).split(4, 1)
            s2 = s2 + sum(p[row, k] * (prev + torch.sigmoid(c) * (ACTS[op](hh) - prev))
                          for k, op in enumerate(SEARCH_PRIMITIVES) if op != "none")
        state = (s1 + _bn(s2)) / 2
        assert torch.allclose(out[t], state, atol=1e-5)
    assert torch.allclose(last[0], state, atol=1e-5)


def test_one_hot_weights_run_the_discrete_cell() -> None:
    genotype = parse_rnn_genotype("Genotype(recurrent=[('relu', 0), ('sigmoid', 0)], concat=range(1, 3))")
    weights = one_hot_weights(genotype)
    assert weights.tolist() == [[0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]


def test_darts_derivation_picks_the_largest_non_none_weights() -> None:
    # columns: none, tanh, relu, sigmoid, identity
    probs = np.array([[0.9, 0.02, 0.03, 0.04, 0.01],  # node 1 from node 0: none is largest but excluded: sigmoid
                      [0.1, 0.1, 0.5, 0.2, 0.1],      # node 2 from node 0: relu 0.5
                      [0.0, 0.6, 0.1, 0.1, 0.2]])     # node 2 from node 1: tanh 0.6, the larger
    cell = derive_darts_genotype(probs, 2)
    assert cell == RNNGenotype((("sigmoid", 0), ("tanh", 1)), (1, 2))
    members = [RNNGenotype((("sigmoid", 0), ("relu", 0)), (1, 2)), RNNGenotype((("tanh", 0), ("tanh", 1)), (1, 2))]
    assert derive_darts_genotype(probs, 2, members=members) == members[0]  # 0.04 * 0.5 > 0.02 * 0.6 (not a member)


def test_enas_shared_path_is_the_stand_alone_cell() -> None:
    genotype = parse_rnn_genotype("Genotype(recurrent=[('sigmoid', 0), ('relu', 1)], concat=range(1, 3))")
    shared = ENASSharedCell(4, 4, 2)
    shared.reset_parameters(torch.Generator().manual_seed(2))
    shared.arch = genotype
    alone = DARTSRNNCell(4, 4, genotype)
    with torch.no_grad():
        alone._W0.copy_(shared._W0)
        alone._Ws[0].copy_(shared.weight(1, 0))
        alone._Ws[1].copy_(shared.weight(2, 1))
    shared.eval()
    alone.eval()
    x, h = torch.randn(3, 2, 4), torch.randn(1, 2, 4)
    assert torch.allclose(shared(x, h)[0], alone(x, h)[0], atol=1e-6)


def _lstm(ctrl: RNNController, x: torch.Tensor, c: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, ...]:
    gates = torch.cat([x, h], 1) @ ctrl.w_lstm
    i, f, o, g = gates[:, :8], gates[:, 8:16], gates[:, 16:24], gates[:, 24:]
    c = torch.sigmoid(i) * torch.tanh(g) + torch.sigmoid(f) * c
    return c, torch.sigmoid(o) * torch.tanh(c)


def test_controller_log_prob_is_a_plain_recomputation() -> None:
    ctrl = RNNController(2, hidden=8, seed=3)
    sample = ctrl.sample(np.random.default_rng(5))
    pred1, act1, pred2, act2 = sample.choices
    with torch.no_grad():
        zeros = torch.zeros(1, 8)
        c, h = _lstm(ctrl, ctrl.g_emb, zeros, zeros)
        anchors = [h]
        x = ctrl.w_emb[0:1]  # tanh
        total = 0.0
        for i, (pred, act) in enumerate(((pred1, act1), (pred2, act2)), start=1):
            c, h = _lstm(ctrl, x, c, h)
            scores = torch.stack([(torch.tanh(h @ ctrl.attn_w_2 + a @ ctrl.attn_w_1) @ ctrl.attn_v).view(())
                                  for a in anchors])
            logits = 2.5 * torch.tanh(scores / 5.0) - torch.tensor([(i - j) ** 2 / 12.0 for j in range(i)])
            total += float(torch.log_softmax(logits, 0)[pred])
            anchors.append(h)
            c, h = _lstm(ctrl, anchors[pred] / (0.1 + i - pred), c, h)
            total += float(torch.log_softmax(2.5 * torch.tanh((h @ ctrl.w_soft).view(-1) / 5.0), 0)[act])
            x = ctrl.w_emb[act:act + 1]  # the controller's ops are RNN_OPS in order
    assert float(sample.log_prob.detach()) == pytest.approx(total, abs=1e-5)
    assert float(ctrl.replay(sample.choices).log_prob.detach()) == pytest.approx(total, abs=1e-5)
    assert sample.arch == RNNGenotype(((ctrl.ops[act1], pred1), (ctrl.ops[act2], pred2)), (1, 2))


def test_controller_stays_inside_a_reduced_space() -> None:
    members = [RNNGenotype((("relu", 0), ("tanh", 1)), (1, 2)), RNNGenotype((("relu", 0), ("sigmoid", 0)), (1, 2))]
    ctrl = RNNController(2, hidden=4, seed=0, allowed=decision_tree(members, ("tanh", "relu", "sigmoid", "identity")))
    rng = np.random.default_rng(0)
    assert {ctrl.sample(rng).arch for _ in range(12)} <= set(members)


def _setup(**changes: object) -> WSSetup:
    space = get_space("rnn_reduced")
    cells = [space.format(a) for a in space.enumerate()]
    values: dict = {"space": "rnn_reduced", "dataset": "jargon", "epochs": 2, "channels": 8, "batch_size": 8,
                    "rank_archs": tuple(cells[:4]), "rank_images": 100, "train_tokens": 600, **changes}
    return WSSetup(**values)


TINY_ENAS = {"archs_per_epoch": 2, "batches_per_arch": 2, "controller_steps": 1, "controller_batch": 2,
             "derive_samples": 4, "controller_hidden": 8}
TINY_NAO = {"seed_archs": 6, "top_archs": 4, "new_archs": 2, "epd_epochs": 3, "eval_images": 100, "max_step_size": 5,
            "evaluations": 2, "windows_per_epoch": 4, "random_archs": 1}


@pytest.mark.parametrize(("name", "settings"), [("darts_rnn", {}), ("enas_rnn", TINY_ENAS)])
def test_a_tiny_seed_runs_and_returns_a_cell_of_the_space(name: str, settings: dict) -> None:
    method = get_method(name, settings)
    setup = _setup()
    outcome = run_training(method.training, [method], setup, seed=0)
    assert get_space("rnn_reduced").contains(outcome.finals[name])
    assert outcome.rank_epochs == [1, 2] and all(len(s) == 4 for s in outcome.rank_scores)
    assert all(-12 < s < 0 for scores in outcome.rank_scores for s in scores)  # -(mean NLL); ln(10001) ~ 9.2
    assert method.cost(setup) > 0 and "supernet epochs" in method.describe_cost(setup, "rnn")


@pytest.mark.parametrize(("name", "settings"), [("darts_rnn", {}), ("enas_rnn", TINY_ENAS), ("nao_rnn", TINY_NAO)])
def test_within_a_reduced_space_the_final_cell_is_a_member(name: str, settings: dict) -> None:
    space = get_space("rnn_reduced")
    within = tuple(space.format(a) for a in list(space.enumerate())[5:8])
    method = get_method(name, settings)
    setup = _setup(epochs=1, within=within, rank_archs=within[:2])
    outcome = run_training(method.training, [method], setup, seed=0)
    assert search_space(setup).contains(outcome.finals[name])


def test_checks_and_bad_data_are_one_line() -> None:
    method = get_method("darts_rnn")
    assert method.check(get_space("rnn_reduced"), reduced=True) is None
    assert "rnn" in (method.check(get_space("nb201")) or "")
    with pytest.raises(ConfigError, match="text corpus"):
        WSSetup(space="rnn_reduced", dataset="embedded", train_tokens=100)
    with pytest.raises(ConfigError, match="text corpus"):
        run_training("darts_rnn", [method], WSSetup(space="rnn_reduced", dataset="embedded", epochs=1), seed=0)


@pytest.mark.parametrize(("name", "settings"), [("darts_rnn", {}), ("enas_rnn", TINY_ENAS),
                                               ("spos_rnn", {"windows_per_epoch": 4, "derive_samples": 4}),
                                               ("nao_rnn", TINY_NAO)])
def test_a_seed_killed_after_an_epoch_resumes_to_the_same_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  name: str, settings: dict) -> None:
    method = get_method(name, settings)
    setup = _setup(rank_archs=_setup().rank_archs[:2])
    whole = run_training(name, [method], setup, seed=1, work_dir=tmp_path / "whole")
    again = run_training(name, [method], setup, seed=1, work_dir=tmp_path / "whole")  # finished: nothing retrained
    assert (again.finals, again.rank_scores) == (whole.finals, whole.rank_scores)

    save, resume = text_search.save_search_state, text_search.resume_search
    done: list[int] = []

    def killed_in_epoch_2(folder: Any, run_key: Any, epoch: int, trained: Any, state: Any) -> None:
        if epoch == 2:  # before epoch 2's checkpoint: the folder keeps epoch 1's
            raise KeyboardInterrupt
        save(folder, run_key, epoch, trained, state)

    def resumed(*args: Any) -> int:
        done.append(resume(*args))
        return done[-1]

    monkeypatch.setattr(text_search, "save_search_state", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run_training(name, [method], setup, seed=1, work_dir=tmp_path / "killed")
    monkeypatch.setattr(text_search, "save_search_state", save)
    monkeypatch.setattr(text_search, "resume_search", resumed)
    result = run_training(name, [method], setup, seed=1, work_dir=tmp_path / "killed")
    assert done == [1]
    assert result.finals == whole.finals and result.rank_scores == whole.rank_scores
    assert result.rank_epochs == whole.rank_epochs == [1, 2]
    ends = [read_state(tmp_path / run / CHECKPOINT_NAME) for run in ("whole", "killed")]
    assert _same(*ends)  # every weight, optimiser moment, generator state and counter of the last epoch


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_a_checkpoint_of_another_run_is_refused_in_one_line(tmp_path: Path) -> None:
    method = get_method("darts_rnn")
    run_training("darts_rnn", [method], _setup(epochs=1), seed=0, work_dir=tmp_path)
    with pytest.raises(ConfigError, match="different run"):
        run_training("darts_rnn", [method], _setup(epochs=1), seed=3, work_dir=tmp_path)
