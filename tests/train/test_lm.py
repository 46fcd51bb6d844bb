"""Language-model training (DARTS rnn/train.py protocol) in the one TrainLoop, on the shipped corpus."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from nasaudit.data.text import TextCorpus, read_jargon
from nasaudit.errors import ConfigError
from nasaudit.train.lm import (
    LM_PROTOCOLS,
    AveragedSGD,
    LMProtocol,
    get_lm_protocol,
    should_switch,
    train_lm,
    window_lengths,
)
from nasaudit.train.result import EpochRecord


class TinyLM(nn.Module):
    """Embedding + one-layer LSTM + tied decoder, with DARTS's RNNModel interface."""

    def __init__(self, ntoken: int, nhid: int) -> None:
        super().__init__()
        self.encoder = nn.Embedding(ntoken, nhid)
        self.rnn = nn.LSTM(nhid, nhid)
        self.decoder = nn.Linear(nhid, ntoken)
        self.decoder.weight = self.encoder.weight
        self.drop = nn.Dropout(0.1)
        self.nhid = nhid

    def init_hidden(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(1, batch, self.nhid), torch.zeros(1, batch, self.nhid)

    def forward(self, x: torch.Tensor, hidden: tuple[torch.Tensor, torch.Tensor], return_h: bool = False):
        out, hidden = self.rnn(self.drop(self.encoder(x)), hidden)
        dropped = self.drop(out)
        log_prob = torch.log_softmax(self.decoder(dropped), dim=-1)
        return (log_prob, hidden, [out], [dropped]) if return_h else (log_prob, hidden)


@pytest.fixture(scope="module")
def corpus() -> TextCorpus:
    return read_jargon().prefix(4000, 800, 500)


def _protocol(epochs: int = 2) -> LMProtocol:
    return LM_PROTOCOLS["lm_cpu_small"].with_overrides(epochs=epochs, batch_size=16, bptt=10, emsize=16, nhid=16)


def _model(corpus: TextCorpus) -> TinyLM:
    torch.manual_seed(0)
    return TinyLM(corpus.ntoken, 16)


def test_perplexity_falls_and_is_deterministic(corpus: TextCorpus) -> None:
    a = train_lm(_model(corpus), corpus, _protocol(), seed=3, progress=False)
    assert len(a.history) == 2 and a.val_ppl[1] < a.val_ppl[0] and a.train_ppl[1] < a.train_ppl[0]
    assert math.isfinite(a.test_ppl) and a.best_val_ppl == pytest.approx(min(a.val_ppl))
    b = train_lm(_model(corpus), corpus, _protocol(), seed=3, progress=False)
    assert [r.val_loss for r in a.history] == [r.val_loss for r in b.history] and a.test_loss == b.test_loss


def test_resume_after_an_interrupted_epoch_gives_the_same_numbers(corpus: TextCorpus, tmp_path: Path) -> None:
    full = train_lm(_model(corpus), corpus, _protocol(), seed=1, progress=False)

    def stop_in_second(record: EpochRecord) -> None:
        if record.epoch == 2:
            raise KeyboardInterrupt  # killed after epoch 2 trained, before its checkpoint

    with pytest.raises(KeyboardInterrupt):
        train_lm(_model(corpus), corpus, _protocol(), seed=1, progress=False, checkpoint_dir=tmp_path,
                 on_epoch_end=stop_in_second)
    resumed = train_lm(_model(corpus), corpus, _protocol(), seed=1, progress=False, checkpoint_dir=tmp_path)
    assert [r.val_loss for r in resumed.history] == [r.val_loss for r in full.history]
    assert resumed.test_loss == full.test_loss


def test_switch_rule() -> None:
    assert not should_switch([5.0, 4.0], 4.5, nonmono=5)
    history = [5.0, 4.0, 4.1, 4.2, 4.3, 4.4, 4.5]
    assert should_switch(history, 4.2, nonmono=5)          # worse than min(history[:2]) = 4.0
    assert not should_switch(history, 3.9, nonmono=5)
    assert not should_switch(history[:5], 9.0, nonmono=5)  # needs more than nonmono earlier losses


def test_averaged_sgd_matches_torch_sgd_then_asgd() -> None:
    torch.manual_seed(0)
    mine = torch.randn(5, requires_grad=True)
    ref = mine.detach().clone().requires_grad_(True)
    opt = AveragedSGD([mine], lr=0.5, weight_decay=0.01)
    sgd = torch.optim.SGD([ref], lr=0.5, weight_decay=0.01)
    grads = [torch.randn(5) for _ in range(6)]
    lrs = [0.5, 0.3, 0.7, 0.5, 0.2, 0.9]
    for g, lr in zip(grads[:2], lrs[:2], strict=True):
        for o, p in ((opt, mine), (sgd, ref)):
            o.param_groups[0]["lr"] = lr
            p.grad = g.clone()
            o.step()
    assert torch.equal(mine, ref)
    opt.start_averaging()
    asgd = torch.optim.ASGD([ref], lr=0.5, t0=0, lambd=0.0, weight_decay=0.01)
    for g, lr in zip(grads[2:], lrs[2:], strict=True):
        for o, p in ((opt, mine), (asgd, ref)):
            o.param_groups[0]["lr"] = lr
            p.grad = g.clone()
            o.step()
    assert torch.allclose(mine, ref) and torch.allclose(opt.averaged(mine), asgd.state[ref]["ax"])
    assert opt.state_dict()["param_groups"][0]["averaging"] is True


def test_window_lengths_follow_the_trick() -> None:
    p = LM_PROTOCOLS["darts_rnn_eval"]
    lengths = window_lengths(10_000, p, np.random.default_rng(0))
    assert min(lengths) >= 5 and max(lengths) <= p.bptt + p.max_seq_len_delta and sum(lengths) >= 9_998
    fixed = window_lengths(100, LM_PROTOCOLS["darts_rnn_search"], np.random.default_rng(0))
    assert set(fixed) <= {35, 17}


def test_protocols_and_errors() -> None:
    p = get_lm_protocol("darts_rnn_eval")
    assert (p.lr, p.batch_size, p.bptt, p.weight_decay, p.grad_clip, p.eval_batch_size, p.test_batch_size,
            p.nonmono, p.alpha, p.beta, p.emsize, p.epochs) == (20.0, 64, 35, 8e-7, 0.25, 10, 1, 5, 0.0, 1e-3, 850, 8000)
    assert p.learning_rate(123.4) == 20.0
    with pytest.raises(ConfigError, match="language-model protocol"):
        get_lm_protocol("darts_rnn")
    with pytest.raises(ConfigError, match="bptt"):
        p.with_overrides(bptt=0)


def test_the_darts_rnn_cell_trains_as_a_language_model(corpus: TextCorpus) -> None:
    """The project's RNNModel (a 2-node cell of the reduced space) through the same loop: AR/TAR read its
    ``forward_states``; perplexity falls."""
    from nasaudit.nn.rnn_cell import RNNModel
    from nasaudit.spaces import get_space

    genotype = next(iter(get_space("rnn_reduced").enumerate()))
    model = RNNModel(corpus.ntoken, genotype, ninp=16, nhid=16, seed=0)
    result = train_lm(model, corpus, _protocol(), seed=1, progress=False)
    assert result.val_ppl[1] < result.val_ppl[0] and math.isfinite(result.test_ppl)
