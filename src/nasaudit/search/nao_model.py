"""NAO's encoder-predictor-decoder (Luo et al. 2018, Sec. 3.1-3.3;
renqianluo/NAO_pytorch@418ff717e6a6e9b22ec163fd4d21f2f8013f03c5, ``NAO_V1/encoder.py``, ``decoder.py``,
``controller.py``, and ``nao_train``/``nao_infer`` of ``NAO_V1/train_search.py``).

* Encoder: token embeddings (``group`` consecutive tokens concatenated into one step), an LSTM, its outputs
  L2-normalised per step; the architecture's embedding ``e`` is their mean, L2-normalised.
* Predictor: an MLP (``mlp_layers`` x Linear-ReLU-Dropout) and a linear layer on ``e``, then a sigmoid: the score.
* Decoder: an LSTM started from ``(e, e)`` with attention over the encoder's outputs (the release's
  ``Attention``: ``tanh(W_out [softmax(W_in h . outputs) outputs ; h])``), log-softmax over the vocabulary;
  trained by teacher forcing on ``[SOS] + tokens[:-1]``.
* Loss (release ``nao_train``): ``trade_off * MSE(score, target) + (1 - trade_off) * NLL(tokens)``.
* Moving in embedding space (release ``Encoder.infer``, Sec. 3.3 eq. 2): the gradient of the score with respect to
  each encoder output, ``h' = normalise(h + eta * d f / d h)``, ``e' = normalise(mean h')``, decoded greedily
  from ``(e', e')`` with attention over ``h'``, each token the most likely of those allowed there.

The RNN release (renqianluo/NAO@db751a0fde0890b501efab64527e44d7906c94d5, ``NAO-WS/rnn/encoder/encoder.py``,
``decoder/decoder.py``; ``nao_rnn``) differs from NAO_V1 in three places, each an ``EPDSizes`` field: dropout 0.1
on the encoder's embeddings (``embedding_dropout``), attention scores as the plain dot product of the decoder's
output with the encoder's, and a bias on the attention's output layer (``attention="dot"``), and the predictor's
weights drawn from U(-0.04, 0.04) with zero biases (``init_range``).

Ours differs on purpose: no dropout on the LSTMs (a one-layer LSTM applies none); the decoder's allowed tokens come
from the space (``_nao_tokens``), not fixed index ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from nasaudit.errors import ConfigError
from nasaudit.search._nao_tokens import SOS

Allowed = Callable[[Sequence[int]], list[int]]


@dataclass(frozen=True)
class EPDSizes:
    """The model's sizes (NAO_V1's defaults: hidden 96 = 2 x embedding 48, 3 MLP layers of 200, dropout 0.1) and the
    RNN release's variant (module doc: ``embedding_dropout``, ``attention``, ``init_range``)."""

    vocab: int
    length: int
    group: int = 1
    hidden: int = 96
    mlp_layers: int = 3
    mlp_hidden: int = 200
    mlp_dropout: float = 0.1
    embedding_dropout: float = 0.0
    attention: Literal["projected", "dot"] = "projected"
    init_range: float | None = None

    def __post_init__(self) -> None:
        if self.length % self.group or self.hidden % self.group or min(self.vocab, self.hidden, self.length) < 1:
            raise ConfigError(f"NAO's encoder needs group {self.group} to divide the length {self.length} and the "
                              f"hidden size {self.hidden}")


class Encoder(nn.Module):
    """Tokens -> per-step outputs, embedding and predicted score (module doc)."""

    def __init__(self, sizes: EPDSizes) -> None:
        super().__init__()
        self.group = sizes.group
        self.embedding = nn.Embedding(sizes.vocab, sizes.hidden // sizes.group)
        self.rnn = nn.LSTM(sizes.hidden, sizes.hidden, 1, batch_first=True)
        layers: list[nn.Module] = []
        width = sizes.hidden
        for _ in range(sizes.mlp_layers):
            layers += [nn.Linear(width, sizes.mlp_hidden), nn.ReLU(), nn.Dropout(sizes.mlp_dropout)]
            width = sizes.mlp_hidden
        self.mlp = nn.Sequential(*layers)
        self.regressor = nn.Linear(width, 1)
        self.dropout = nn.Dropout(sizes.embedding_dropout) if sizes.embedding_dropout else nn.Identity()
        if sizes.init_range is not None:
            for linear in (*(m for m in self.mlp if isinstance(m, nn.Linear)), self.regressor):
                nn.init.uniform_(linear.weight, -sizes.init_range, sizes.init_range)
                nn.init.zeros_(linear.bias)

    def outputs(self, tokens: torch.Tensor) -> torch.Tensor:
        """The L2-normalised LSTM outputs, ``(batch, length / group, hidden)``."""
        embedded = self.dropout(self.embedding(tokens))
        batch, length, width = embedded.shape
        out, _ = self.rnn(embedded.reshape(batch, length // self.group, self.group * width))
        return F.normalize(out, 2, dim=-1)

    def head(self, outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The embedding (mean of ``outputs``, L2-normalised) and the predictor's score in (0, 1), ``(batch,)``."""
        embedding = F.normalize(outputs.mean(dim=1), 2, dim=-1)
        return embedding, torch.sigmoid(self.regressor(self.mlp(embedding))).squeeze(-1)


class Decoder(nn.Module):
    """An LSTM with attention over the encoder's outputs, writing tokens (module doc)."""

    def __init__(self, sizes: EPDSizes) -> None:
        super().__init__()
        self.length, self.hidden = sizes.length, sizes.hidden
        self.embedding = nn.Embedding(sizes.vocab, sizes.hidden)
        self.rnn = nn.LSTM(sizes.hidden, sizes.hidden, 1, batch_first=True)
        projected = sizes.attention == "projected"
        self.input_proj = nn.Linear(sizes.hidden, sizes.hidden, bias=False) if projected else None
        self.output_proj = nn.Linear(2 * sizes.hidden, sizes.hidden, bias=not projected)
        self.out = nn.Linear(sizes.hidden, sizes.vocab)

    def _log_probs(self, inputs: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], source: torch.Tensor
                   ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        out, state = self.rnn(self.embedding(inputs), state)
        query = out if self.input_proj is None else self.input_proj(out)
        attention = torch.softmax(torch.bmm(query, source.transpose(1, 2)), dim=-1)
        mixed = torch.tanh(self.output_proj(torch.cat([torch.bmm(attention, source), out], dim=-1)))
        return F.log_softmax(self.out(mixed), dim=-1), state

    def teacher_forced(self, tokens: torch.Tensor, embedding: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """Log-probabilities ``(batch, length, vocab)`` of each token given the ones before it."""
        inputs = torch.cat([torch.full_like(tokens[:, :1], SOS), tokens[:, :-1]], dim=1)
        start = (embedding.unsqueeze(0), embedding.unsqueeze(0))
        return self._log_probs(inputs, start, source)[0]

    def greedy(self, embedding: torch.Tensor, source: torch.Tensor, allowed: Allowed) -> list[list[int]]:
        """The most likely allowed token at each step, fed back as the next input, for each row."""
        batch = embedding.shape[0]
        state = (embedding.unsqueeze(0), embedding.unsqueeze(0))
        inputs = torch.full((batch, 1), SOS, dtype=torch.long)
        written: list[list[int]] = [[] for _ in range(batch)]
        for _ in range(self.length):
            log_probs, state = self._log_probs(inputs, state, source)
            mask = torch.full((batch, log_probs.shape[-1]), float("-inf"))
            for row, prefix in enumerate(written):
                options = allowed(prefix)
                mask[row, options if options else list(range(1, log_probs.shape[-1]))] = 0.0
            picks = (log_probs[:, 0] + mask).argmax(dim=-1)
            for row, pick in enumerate(picks.tolist()):
                written[row].append(int(pick))
            inputs = picks.unsqueeze(1)
        return written


class EPD(nn.Module):
    """NAO's encoder-predictor-decoder (module doc)."""

    def __init__(self, sizes: EPDSizes) -> None:
        super().__init__()
        self.sizes = sizes
        self.encoder, self.decoder = Encoder(sizes), Decoder(sizes)

    def losses(self, tokens: torch.Tensor, targets: torch.Tensor, trade_off: float
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The joint loss, the predictor's MSE and the decoder's NLL on a batch (release ``nao_train``)."""
        outputs = self.encoder.outputs(tokens)
        embedding, score = self.encoder.head(outputs)
        log_probs = self.decoder.teacher_forced(tokens, embedding, outputs)
        mse = F.mse_loss(score, targets)
        nll = F.nll_loss(log_probs.reshape(-1, log_probs.shape[-1]), tokens.reshape(-1))
        return trade_off * mse + (1 - trade_off) * nll, mse, nll

    def predict(self, tokens: torch.Tensor) -> torch.Tensor:
        """The predictor's score of each row."""
        return self.encoder.head(self.encoder.outputs(tokens))[1]

    def moved(self, tokens: torch.Tensor, eta: float) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoder outputs and embedding after one step of size ``eta`` up the predictor's gradient."""
        with torch.enable_grad():
            outputs = self.encoder.outputs(tokens)
            _, score = self.encoder.head(outputs)
            (gradient,) = torch.autograd.grad(score.sum(), outputs)
        new_outputs = F.normalize(outputs.detach() + eta * gradient, 2, dim=-1)
        return new_outputs, F.normalize(new_outputs.mean(dim=1), 2, dim=-1)

    def improve(self, tokens: torch.Tensor, eta: float, allowed: Allowed) -> list[list[int]]:
        """The architectures decoded after moving each row by ``eta`` up the predictor (release ``infer``)."""
        outputs, embedding = self.moved(tokens, eta)
        with torch.no_grad():
            return self.decoder.greedy(embedding, outputs, allowed)


@dataclass(frozen=True)
class EPDTraining:
    """The release's EPD optimisation: Adam (``lr``, weight decay ``l2``), ``epochs`` over shuffled batches of
    ``batch``, gradients clipped at ``grad_bound``, the loss's ``trade_off``."""

    epochs: int = 1000
    batch: int = 100
    lr: float = 1e-3
    l2: float = 1e-4
    grad_bound: float = 5.0
    trade_off: float = 0.8


def epd_optimizer(model: EPD, training: EPDTraining) -> torch.optim.Adam:
    """The releases' Adam over the whole EPD (learning rate ``lr``, weight decay ``l2``)."""
    return torch.optim.Adam(model.parameters(), lr=training.lr, weight_decay=training.l2)


def train_epd(model: EPD, sequences: Sequence[Sequence[int]], targets: Sequence[float], training: EPDTraining,
              seed: int, augment: Callable[[tuple[int, ...], int], tuple[int, ...]] | None = None,
              optimizer: torch.optim.Optimizer | None = None) -> tuple[float, float, float]:
    """Train ``model`` on (tokens, target) pairs (release ``nao_train``); ``augment(tokens, draw)`` rewrites a
    sequence each time it is seen. ``optimizer``: one kept across calls (the RNN release's, made once before its
    loop), else a fresh ``epd_optimizer`` per call (NAO_V1's ``nao_train``). Every draw (order, augmentation,
    dropout) comes from ``seed``; returns the last epoch's mean loss, MSE and NLL."""
    import numpy as np

    rng = np.random.default_rng(seed)
    optimizer = epd_optimizer(model, training) if optimizer is None else optimizer
    target = torch.tensor(list(targets), dtype=torch.float32)
    base = [tuple(int(t) for t in s) for s in sequences]
    model.train()
    totals = [0.0, 0.0, 0.0]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**31)))
        for _ in range(training.epochs):
            order = rng.permutation(len(base))
            totals, n = [0.0, 0.0, 0.0], 0
            for start in range(0, len(base), training.batch):
                rows = order[start:start + training.batch]
                tokens = torch.tensor([augment(base[i], int(rng.integers(2**31))) if augment else base[i]
                                       for i in rows], dtype=torch.long)
                optimizer.zero_grad()
                loss, mse, nll = model.losses(tokens, target[rows], training.trade_off)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), training.grad_bound)
                optimizer.step()
                totals = [t + float(v.detach()) * len(rows) for t, v in zip(totals, (loss, mse, nll), strict=True)]
                n += len(rows)
            totals = [t / n for t in totals]
    model.eval()
    return totals[0], totals[1], totals[2]
