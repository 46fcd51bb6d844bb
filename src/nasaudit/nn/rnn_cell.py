"""The DARTS recurrent cell and its PTB language model (DARTS Sec. 2.1, 3.1, App. A.1.2; search-phase paper C.5).

Follows quark0/darts ``rnn/model.py`` and ``rnn/utils.py`` at commit f276dd346a09ae3160f8e3aca5c7b193fda1da37
(the cell and model code unchanged since the release 8876e793763398e3ee62ac1823fa0a3c14e8c2c5), written anew:

* cell: ``[x, h_prev] W0 -> (c0, h0)``, ``s0 = h_prev + sigmoid(c0) * (tanh(h0) - h_prev)``; node ``i`` reads
  ``s_j`` (its predecessor), ``s_j W_i -> (c, h)``, ``s_i = s_j + sigmoid(c) * (act(h) - s_j)``; the output is
  the mean of the ``concat`` states. No biases; every weight uniform in ``(-0.04, 0.04)``.
* variational dropout in training: one mask per sequence on ``x`` (``dropoutx``) and one on the hidden states
  (``dropouth``), the same mask for ``h_prev`` and for every node's input state;
* model: embedding (``ninp``) with embedding dropout ``dropoute`` (whole words), locked dropout ``dropouti`` on
  the embeddings and ``dropout`` on the cell outputs, one cell unrolled over time, a decoder tied to the
  embedding (plus its bias), log-softmax. The paper's sizes: ``ninp = nhid = 850`` to evaluate (300 to search),
  10,000 words (PTB): 22,960,000 parameters (DARTS Table 2 says 23M).

Differences on purpose: randomness comes from an explicit ``seed`` (initial weights from a generator seeded with
it, dropout masks from per-device generators seeded from it) instead of torch's global state; the hidden state is
a tensor ``[1, B, nhid]`` rather than a one-element list of it; ``tie_weights=False`` gives an untied decoder
(the authors always tie, and so does the default); the authors' ``forward(..., return_h=True)`` (the states for
activation regularisation) is ``forward_states``; one cell only (the authors' ``ModuleList`` holds one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from nasaudit.errors import ConfigError
from nasaudit.spaces.rnn import MAX_RNN_NODES, RNN_OPS, RNNGenotype, parse_rnn_genotype

#: DARTS ``INITRANGE``: every weight is drawn uniformly from (-INITRANGE, INITRANGE)
INITRANGE = 0.04
#: the largest vocabulary and hidden size accepted (PTB has 10,000 words, WikiText-2 33,278; DARTS uses 850)
MAX_VOCAB = 1_000_000
MAX_HIDDEN = 8192

_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda t: t,
}


def as_rnn_genotype(genotype: RNNGenotype | str) -> RNNGenotype:
    """A genotype (or its ``Genotype(...)`` string) checked for building: known activations, earlier
    predecessors, output nodes that exist; any node count up to ``MAX_RNN_NODES`` (ENAS has 11)."""
    value = parse_rnn_genotype(genotype) if isinstance(genotype, str) else genotype
    if not isinstance(value, RNNGenotype):
        raise ConfigError(f"genotype must be an RNNGenotype or its string, got {type(genotype).__name__}")
    if not 1 <= value.n_nodes <= MAX_RNN_NODES:
        raise ConfigError(f"an RNN cell has 1 to {MAX_RNN_NODES} nodes, got {value.n_nodes}")
    for i, (act, pred) in enumerate(value.recurrent, start=1):
        if act not in RNN_OPS:
            raise ConfigError(f"RNN node {i}: unknown activation {act!r}; choose from {list(RNN_OPS)}")
        if not 0 <= pred < i:
            raise ConfigError(f"RNN node {i}: predecessor {pred} is not an earlier node (0..{i - 1})")
    if not value.concat or not all(0 <= c <= value.n_nodes for c in value.concat):
        raise ConfigError(f"RNN concat {list(value.concat)} must name nodes among 0..{value.n_nodes}")
    return value


def _check_size(name: str, value: int, upper: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise ConfigError(f"{name} must be an integer in 1..{upper}, got {value!r}")


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= float(value) < 1.0:
        raise ConfigError(f"{name} must be a dropout rate in [0, 1), got {value!r}")


def _keep_mask(shape: tuple[int, ...], rate: float, like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A 0 / (1 / (1 - rate)) Bernoulli mask (the authors' ``mask2d`` and ``LockedDropout``)."""
    keep = torch.full(shape, 1.0 - rate, dtype=like.dtype, device=like.device)
    return torch.bernoulli(keep, generator=generator) / (1.0 - rate)


class _RecurrentCell(Protocol):
    training: bool
    ninp: int
    nhid: int
    dropoutx: float
    dropouth: float


def step_masks(cell: _RecurrentCell, inputs: torch.Tensor, generator: torch.Generator | None
               ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """The input and hidden dropout masks of a recurrent cell (``ninp``, ``nhid``, ``dropoutx``, ``dropouth``) for
    one call on ``inputs [T, B, ninp]``: drawn once per call in training (the authors' ``mask2d``), None in eval."""
    if not cell.training:
        return None, None
    if generator is None:
        raise ConfigError("a training forward of the RNN cell needs a generator for its dropout masks")
    batch = inputs.size(1)
    return (_keep_mask((batch, cell.ninp), cell.dropoutx, inputs, generator),
            _keep_mask((batch, cell.nhid), cell.dropouth, inputs, generator))


class DARTSRNNCell(nn.Module):
    """The DARTS recurrent cell of ``genotype`` (DARTS Sec. 2.1; quark0/darts ``DARTSCell``)."""

    def __init__(self, ninp: int, nhid: int, genotype: RNNGenotype | str, dropouth: float = 0.0,
                 dropoutx: float = 0.0) -> None:
        super().__init__()
        _check_size("ninp", ninp, MAX_HIDDEN)
        _check_size("nhid", nhid, MAX_HIDDEN)
        _check_rate("dropouth", dropouth)
        _check_rate("dropoutx", dropoutx)
        self.genotype = as_rnn_genotype(genotype)
        self.ninp, self.nhid = ninp, nhid
        self.dropouth, self.dropoutx = float(dropouth), float(dropoutx)
        self._W0 = nn.Parameter(torch.empty(ninp + nhid, 2 * nhid))
        self._Ws = nn.ParameterList([nn.Parameter(torch.empty(nhid, 2 * nhid))
                                     for _ in range(self.genotype.n_nodes)])
        self._activations = [_ACTIVATIONS[act] for act, _ in self.genotype.recurrent]

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Every weight uniform in (-INITRANGE, INITRANGE), W0 first then the nodes' in order."""
        with torch.no_grad():
            for weight in (self._W0, *self._Ws):
                weight.uniform_(-INITRANGE, INITRANGE, generator=generator)

    def step(self, x: torch.Tensor, h_prev: torch.Tensor, x_mask: torch.Tensor | None = None,
             h_mask: torch.Tensor | None = None) -> torch.Tensor:
        """One time step: ``x [B, ninp]``, ``h_prev [B, nhid]`` -> the new hidden state ``[B, nhid]``."""
        xh = torch.cat([x if x_mask is None else x * x_mask, h_prev if h_mask is None else h_prev * h_mask], -1)
        c0, h0 = torch.split(xh.mm(self._W0), self.nhid, dim=-1)
        states = [h_prev + c0.sigmoid() * (h0.tanh() - h_prev)]
        for (_, pred), weight, act in zip(self.genotype.recurrent, self._Ws, self._activations, strict=True):
            s_prev = states[pred]
            c, h = torch.split((s_prev if h_mask is None else s_prev * h_mask).mm(weight), self.nhid, dim=-1)
            states.append(s_prev + c.sigmoid() * (act(h) - s_prev))
        return torch.stack([states[i] for i in self.genotype.concat], -1).mean(-1)

    def forward(self, inputs: torch.Tensor, hidden: torch.Tensor,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``inputs [T, B, ninp]``, ``hidden [1, B, nhid]`` -> (every step's state ``[T, B, nhid]``, the last
        ``[1, B, nhid]``). In training the two masks are drawn once per call from ``generator``."""
        x_mask, h_mask = step_masks(self, inputs, generator)
        h = hidden[0]
        outputs = []
        for t in range(inputs.size(0)):
            h = self.step(inputs[t], h, x_mask, h_mask)
            outputs.append(h)
        stacked = torch.stack(outputs)
        return stacked, stacked[-1].unsqueeze(0)


class RNNModel(nn.Module):
    """The DARTS PTB language model of one cell (quark0/darts ``rnn/model.py`` ``RNNModel``; module doc).

    ``forward(tokens [T, B], hidden [1, B, nhid]) -> (log_probs [T, B, ntoken], new_hidden [1, B, nhid])``;
    ``init_hidden(batch_size)`` gives zeros. Dropout rates default to DARTS's evaluation settings
    (``rnn/train.py``: 0.75, 0.25, 0.75, 0.2, 0.1). Weights are drawn from ``seed``; dropout masks from a
    generator per device seeded from ``seed`` too (``reseed_dropout`` restarts it).
    """

    def __init__(self, ntoken: int, genotype: RNNGenotype | str, ninp: int = 850, nhid: int = 850,
                 dropout: float = 0.75, dropouth: float = 0.25, dropoutx: float = 0.75, dropouti: float = 0.2,
                 dropoute: float = 0.1, tie_weights: bool = True, seed: int = 0) -> None:
        super().__init__()
        _check_size("ntoken", ntoken, MAX_VOCAB)
        _check_size("ninp", ninp, MAX_HIDDEN)
        _check_size("nhid", nhid, MAX_HIDDEN)
        for name, rate in (("dropout", dropout), ("dropouti", dropouti), ("dropoute", dropoute)):
            _check_rate(name, rate)
        if tie_weights and ninp != nhid:
            raise ConfigError(f"a decoder tied to the embedding needs ninp == nhid, got {ninp} and {nhid}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
        self.ntoken, self.ninp, self.nhid = ntoken, ninp, nhid
        self.dropout, self.dropouti, self.dropoute = float(dropout), float(dropouti), float(dropoute)
        self.seed = seed
        self.encoder = nn.Embedding(ntoken, ninp)
        self.cell = DARTSRNNCell(ninp, nhid, genotype, dropouth, dropoutx)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            self.decoder.weight = self.encoder.weight
        self._generators: dict[str, torch.Generator] = {}
        self.reset_parameters()

    @property
    def genotype(self) -> RNNGenotype:
        return self.cell.genotype

    def reset_parameters(self) -> None:
        """DARTS ``init_weights`` from ``seed``: cell, then embedding and decoder uniform, decoder bias zero."""
        generator = torch.Generator().manual_seed(self.seed)
        self.cell.reset_parameters(generator)
        with torch.no_grad():
            self.encoder.weight.uniform_(-INITRANGE, INITRANGE, generator=generator)
            if self.decoder.weight is not self.encoder.weight:
                self.decoder.weight.uniform_(-INITRANGE, INITRANGE, generator=generator)
            self.decoder.bias.zero_()

    def reseed_dropout(self, seed: int | None = None) -> None:
        """Restart the dropout-mask generators (from ``seed``, or the model's seed)."""
        self._generators.clear()
        if seed is not None:
            self.seed = seed

    def _generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed + 1)
        return self._generators[key]

    def init_hidden(self, batch_size: int) -> torch.Tensor:
        """Zeros ``[1, batch_size, nhid]`` on the model's device and dtype."""
        _check_size("batch_size", batch_size, 1 << 20)
        weight = self.decoder.bias
        return weight.new_zeros(1, batch_size, self.nhid)

    def _embed(self, tokens: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        weight = self.encoder.weight
        if generator is not None and self.dropoute:
            weight = weight * _keep_mask((self.ntoken, 1), self.dropoute, weight, generator)
        return F.embedding(tokens, weight)

    def _locked(self, x: torch.Tensor, rate: float, generator: torch.Generator | None) -> torch.Tensor:
        if generator is None or not rate:
            return x
        return x * _keep_mask((1, x.size(1), x.size(2)), rate, x, generator)

    def forward(self, tokens: torch.Tensor, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Log-probabilities of the next word at each step ``[T, B, ntoken]``, and the new hidden state."""
        log_probs, new_hidden, _, _ = self.forward_states(tokens, hidden)
        return log_probs, new_hidden

    def forward_states(self, tokens: torch.Tensor, hidden: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``forward`` plus the cell outputs before and after the output dropout, each ``[T, B, nhid]`` (the
        authors' ``return_h=True``: ``raw_outputs`` and ``outputs``, for activation regularisation)."""
        if tokens.dim() != 2:
            raise ConfigError(f"tokens must be [T, B], got shape {list(tokens.shape)}")
        if hidden.shape != (1, tokens.size(1), self.nhid):
            raise ConfigError(f"hidden must be [1, {tokens.size(1)}, {self.nhid}], got {list(hidden.shape)}")
        generator = self._generator(tokens.device) if self.training else None
        emb = self._locked(self._embed(tokens, generator), self.dropouti, generator)
        raw_output, new_hidden = self.cell(emb, hidden, generator)
        output = self._locked(raw_output, self.dropout, generator)
        log_probs = F.log_softmax(self.decoder(output), dim=-1)
        return log_probs, new_hidden, raw_output, output
