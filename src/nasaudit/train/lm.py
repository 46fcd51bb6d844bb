"""Language-model training for the recurrent-cell experiments (search-phase paper Sec. 3-4: Penn Treebank,
perplexity), the AWD-LSTM protocol as DARTS runs it (``rnn/train.py`` and ``rnn/train_search.py`` of
quark0/darts, commit 8876e79; ENAS used the same recipe), hosted by the project's one ``TrainLoop``.

* ``LMProtocol``: a ``TrainProtocol`` (constant learning rate, no momentum, gradient clipping) plus BPTT length,
  the random-length trick, the activation regularisers and the ASGD switch; presets in ``LM_PROTOCOLS``.
* ``BPTTBatches``: the training stream laid out as ``[n, batch]`` columns (``data.text.batchify``), cut into
  windows of ``seq_len`` rows: ``bptt`` with probability 0.95, else ``bptt / 2``, jittered by ``N(., 5)``, at
  least 5 and at most ``bptt + max_seq_len_delta``, drawn from the epoch's generator.
* ``LMStep``: carries the hidden state across an epoch's windows (detached before each), scales the learning rate
  by ``seq_len / bptt`` for the window, adds ``alpha`` * mean square of the last layer's dropped outputs (AR) and
  ``beta`` * mean square of their step-to-step differences (TAR) to the NLL; after each epoch's validation it
  keeps the best weights and switches SGD to averaged SGD when the validation loss is worse than the best of all
  but the last ``nonmono`` epochs (``should_switch``). In the averaged phase validation scores the averaged
  weights, as DARTS does.
* ``AveragedSGD``: one optimiser object for both phases, so a checkpoint resumes either (SGD without momentum,
  then torch's ASGD with ``t0=0, lambd=0``, bit for bit: the update uses the learning rate of the step before,
  and the average starts from a copy, exactly as ``torch.optim.ASGD`` does).
* ``train_lm``: per-epoch train/valid perplexity, then the best-validation weights scored on test at batch 1.

The model follows DARTS's ``RNNModel`` interface: ``init_hidden(batch)``, ``model(tokens [T, B], hidden)`` ->
``(log_probs [T, B, ntoken], hidden)``; the AR/TAR terms read the outputs before and after dropout from
``forward_states`` (``nasaudit.nn.rnn_cell.RNNModel``) or, as DARTS's model gives them, ``return_h=True``.
Differences from DARTS, by design: the
vocabulary comes from training text only (``data.text``); evaluation divides the summed NLL by the number of
predicted tokens (DARTS divides by the rows of the batchified split, one more); the epoch's training loss is the
token-weighted mean NLL; DARTS's ``small_batch_size`` gradient accumulation and its roll-back on a NaN are not
reproduced (a NaN stops the run with ``TrainingError``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasaudit.data.splits import Split
from nasaudit.data.text import TextCorpus, batchify, get_batch
from nasaudit.errors import ConfigError, DataError
from nasaudit.limits import MAX_BATCH, MAX_BPTT, check_at_most
from nasaudit.registry import unknown_name_message
from nasaudit.train.batches import BatchSource, DeviceData
from nasaudit.train.loop import Schedule, StepContext, TrainLoop, TrainStep, isolated_run, resolve_device
from nasaudit.train.protocols import TrainProtocol
from nasaudit.train.result import EpochRecord

Hidden = Any  # a tensor or a (nested) tuple/list of tensors, as the model's init_hidden returns


@dataclass(frozen=True)
class LMProtocol(TrainProtocol):
    """A language-model recipe (module doc). ``lr`` stays constant (``learning_rate``); ``eval_batch_size`` is
    the validation batch, ``test_batch_size`` the test batch; ``emsize``/``nhid`` and the dropouts are the model
    settings the recipe was published with (the caller builds the model)."""

    bptt: int = 35
    random_length: bool = True
    max_seq_len_delta: int = 20
    alpha: float = 0.0
    beta: float = 1e-3
    asgd: bool = True
    nonmono: int = 5
    test_batch_size: int = 1
    emsize: int = 300
    nhid: int = 300
    model_options: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.bptt <= MAX_BPTT:
            raise ConfigError(f"bptt must be in [1, {MAX_BPTT:,}], got {self.bptt}")
        check_at_most("test_batch_size", self.test_batch_size, MAX_BATCH)
        if self.test_batch_size < 1 or self.nonmono < 0 or self.max_seq_len_delta < 0:
            raise ConfigError("test_batch_size must be >= 1, nonmono and max_seq_len_delta >= 0")

    def learning_rate(self, progress: float) -> float:
        """Constant: DARTS's RNN recipe has no schedule (the rate is only scaled per window)."""
        return self.lr


_DARTS = "quark0/darts commit 8876e79"
_DROPOUTS = {"dropout": 0.75, "dropouth": 0.25, "dropoutx": 0.75, "dropouti": 0.2, "dropoute": 0.0}

LM_PROTOCOLS: dict[str, LMProtocol] = {
    "darts_rnn_eval": LMProtocol(
        name="darts_rnn_eval",
        source=(f"DARTS rnn/train.py ({_DARTS}), the PTB evaluation of a found cell (Liu et al., 2019, Sec. 3.3; "
                "AWD-LSTM recipe): emsize = nhid = 850, SGD lr 20 (scaled by seq_len/bptt), batch 64, bptt 35 with "
                "the random length trick (max +20), weight decay 8e-7, clip 0.25, AR alpha 0, TAR beta 1e-3, "
                "dropouts 0.75/0.25/0.75/0.2/0, switch to ASGD after nonmono=5, eval batch 10, test batch 1, "
                "8000 epochs."),
        epochs=8000, batch_size=64, lr=20.0, lr_min=20.0, momentum=0.0, weight_decay=8e-7, grad_clip=0.25,
        eval_batch_size=10, bptt=35, emsize=850, nhid=850, model_options=dict(_DROPOUTS),
    ),
    "darts_rnn_search": LMProtocol(
        name="darts_rnn_search",
        source=(f"DARTS rnn/train_search.py ({_DARTS}), the weight settings of the search: emsize = nhid = 300, "
                "SGD lr 20 (scaled by seq_len/bptt), batch 256, bptt 35 (bptt/2 with probability 0.05, no "
                "jitter), weight decay 5e-7, clip 0.25, TAR beta 1e-3, dropouts 0.75/0.25/0.75/0.2/0, no ASGD "
                "switch, eval batch 10, 50 epochs (the architecture step is not part of this protocol)."),
        epochs=50, batch_size=256, lr=20.0, lr_min=20.0, momentum=0.0, weight_decay=5e-7, grad_clip=0.25,
        eval_batch_size=10, bptt=35, random_length=False, asgd=False, emsize=300, nhid=300,
        model_options=dict(_DROPOUTS),
    ),
    "lm_cpu_small": LMProtocol(
        name="lm_cpu_small",
        source=("nasaudit's quick CPU language-model protocol (not from a paper): the DARTS rnn/train.py recipe "
                "at emsize = nhid = 64, batch 32, bptt 20, 4 epochs, lighter dropouts (0.25/0.1/0.25/0.1/0), on "
                "the shipped corpus 'jargon'."),
        epochs=4, batch_size=32, lr=20.0, lr_min=20.0, momentum=0.0, weight_decay=8e-7, grad_clip=0.25,
        eval_batch_size=10, bptt=20, emsize=64, nhid=64,
        model_options={"dropout": 0.25, "dropouth": 0.1, "dropoutx": 0.25, "dropouti": 0.1, "dropoute": 0.0},
    ),
}


def get_lm_protocol(protocol: str | LMProtocol) -> LMProtocol:
    """The language-model protocol named ``protocol`` (an ``LMProtocol`` passes through)."""
    if isinstance(protocol, LMProtocol):
        return protocol
    if protocol not in LM_PROTOCOLS:
        raise ConfigError(unknown_name_message("language-model protocol", protocol, sorted(LM_PROTOCOLS)))
    return LM_PROTOCOLS[protocol]


class AveragedSGD(torch.optim.Optimizer):
    """SGD without momentum (weight decay added to the gradient) until ``start_averaging``, then torch's ASGD with
    ``lambd=0, alpha=0.75, t0=0`` started afresh (AWD-LSTM's NT-ASGD, as DARTS's rnn/train.py switches
    ``torch.optim.SGD`` for ``torch.optim.ASGD``). The phase is a parameter-group entry, so ``state_dict`` holds it
    and a resumed run continues in the right phase. ``averaged(p)`` is the running average of ``p``."""

    def __init__(self, params: Any, lr: float, weight_decay: float = 0.0) -> None:
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay, "averaging": False})

    @property
    def averaging(self) -> bool:
        return bool(self.param_groups[0]["averaging"])

    def start_averaging(self) -> None:
        for group in self.param_groups:
            group["averaging"] = True

    def averaged(self, p: torch.Tensor) -> torch.Tensor | None:
        ax = self.state.get(p, {}).get("ax")
        return ax if isinstance(ax, torch.Tensor) else None

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        if closure is not None:
            raise ConfigError("AveragedSGD takes no closure")
        for group in self.param_groups:
            lr, decay = float(group["lr"]), float(group["weight_decay"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad.add(p, alpha=decay) if decay else p.grad
                if not group["averaging"]:
                    p.add_(grad, alpha=-lr)
                    continue
                state = self.state[p]
                if not state:  # torch.optim.ASGD's fresh state
                    state.update(step=0, eta=lr, mu=1.0, ax=torch.zeros_like(p))
                state["step"] += 1
                p.add_(grad, alpha=-state["eta"])
                if state["mu"] != 1:
                    state["ax"].add_(p.sub(state["ax"]).mul_(state["mu"]))
                else:
                    state["ax"].copy_(p)
                state["eta"] = lr  # lr / (1 + lambd * lr * step) ** alpha with lambd = 0
                state["mu"] = 1.0 / max(1, state["step"])
        return None


def should_switch(history: Sequence[float], val_loss: float, nonmono: int) -> bool:
    """AWD-LSTM's non-monotone trigger (DARTS rnn/train.py): switch to ASGD when more than ``nonmono`` earlier
    validation losses exist and ``val_loss`` is worse than the best of all but the last ``nonmono`` of them."""
    return len(history) > nonmono and val_loss > min(history[:len(history) - nonmono])


def detach_hidden(hidden: Hidden) -> Hidden:
    """``hidden`` cut from the graph that made it (DARTS's ``repackage_hidden``)."""
    if isinstance(hidden, torch.Tensor):
        return hidden.detach()
    return type(hidden)(detach_hidden(h) for h in hidden)


def _hidden_to(hidden: Hidden, device: torch.device) -> Hidden:
    if isinstance(hidden, torch.Tensor):
        return hidden.to(device)
    return type(hidden)(_hidden_to(h, device) for h in hidden)


class TokenData(DeviceData):
    """A text corpus on the device for ``TrainLoop``: the training stream batchified at the protocol's batch size,
    validation at ``eval_batch_size``, test at ``test_batch_size`` (``[n, batch]`` token ids). ``parts`` holds them
    as ``Split(x=ids, y=ids)`` so that the loop's size check reads rows; no normalisation."""

    def __init__(self, corpus: TextCorpus, protocol: LMProtocol, device: torch.device) -> None:
        self.name, self.device, self.ntoken = corpus.name, device, corpus.ntoken
        self.streams = {"train": batchify(corpus.train, protocol.batch_size).to(device),
                        "val": batchify(corpus.valid, protocol.eval_batch_size).to(device),
                        "test": batchify(corpus.test, protocol.test_batch_size).to(device)}
        self.parts = {name: Split(ids, ids) for name, ids in self.streams.items()}
        self.mean = self.std = torch.zeros(0, device=device)


@dataclass(frozen=True)
class TokenBatch:
    """One BPTT window: inputs ``x`` [seq_len, batch], flattened targets ``y``, the drawn ``seq_len``."""

    x: torch.Tensor
    y: torch.Tensor
    seq_len: int
    epoch: int
    step: int


def window_lengths(rows: int, protocol: LMProtocol, rng: np.random.Generator) -> list[int]:
    """The drawn ``seq_len`` of each window of an epoch over ``rows`` rows (module doc; DARTS rnn/train.py)."""
    lengths: list[int] = []
    i = 0
    while i < rows - 2:
        bptt = protocol.bptt if rng.random() < 0.95 else protocol.bptt / 2.0
        if protocol.random_length:
            seq_len = min(max(5, int(rng.normal(bptt, 5))), protocol.bptt + protocol.max_seq_len_delta)
        else:
            seq_len = int(bptt)
        lengths.append(seq_len)
        i += seq_len
    return lengths


class BPTTBatches(BatchSource[TokenBatch]):
    """An epoch's BPTT windows over the batchified training stream, in order (module doc)."""

    def __init__(self, data: TokenData, protocol: LMProtocol) -> None:
        self.data, self.protocol = data, protocol

    def steps(self) -> int:
        """The number of windows at the nominal ``bptt`` (the drawn lengths make it vary by epoch; the loop reads
        it only for per-step schedules, which language-model protocols do not use)."""
        return max(1, math.ceil((self.data.streams["train"].shape[0] - 2) / self.protocol.bptt))

    def epoch(self, epoch: int, generator: torch.Generator, rng: np.random.Generator) -> Iterator[TokenBatch]:
        source, i = self.data.streams["train"], 0
        for step, seq_len in enumerate(window_lengths(source.shape[0], self.protocol, rng)):
            x, y = get_batch(source, i, seq_len)
            yield TokenBatch(x, y, seq_len, epoch, step)
            i += seq_len


def forward_states(model: nn.Module, tokens: torch.Tensor, hidden: Any) -> tuple[torch.Tensor, Any, torch.Tensor,
                                                                                  torch.Tensor]:
    """``(log_probs, hidden, outputs, dropped)``: the last layer's outputs before and after the output dropout, which
    AR/TAR read; from ``model.forward_states`` (``nasaudit.nn.rnn_cell.RNNModel``) or, for a model with DARTS's
    interface, from ``model(tokens, hidden, return_h=True)`` (per-layer lists, the last layer taken)."""
    states = getattr(model, "forward_states", None)
    if callable(states):
        log_prob, new_hidden, outputs, dropped = states(tokens, hidden)
        return log_prob, new_hidden, outputs, dropped
    log_prob, new_hidden, rnn_hs, dropped_hs = model(tokens, hidden, return_h=True)
    return log_prob, new_hidden, rnn_hs[-1], dropped_hs[-1]


class LMStep(TrainStep[TokenBatch]):
    """One window's forward/backward with the AR/TAR terms, the hidden state carried over, the per-window learning
    rate, and the best-weights/ASGD bookkeeping after each validation (module doc)."""

    def __init__(self, model: nn.Module, optimizer: AveragedSGD, data: TokenData, protocol: LMProtocol) -> None:
        self.model, self.optimizer, self.data, self.protocol = model, optimizer, data, protocol
        self.hidden: Hidden = None
        self.base_lr = protocol.lr
        self.epoch = 0
        self.val_history: list[float] = []
        self.best_loss = math.inf
        self.best_weights: dict[str, torch.Tensor] = {}
        self.switched_epoch: int | None = None

    def begin_epoch(self, epoch: int, lr: float) -> None:
        self.epoch = epoch
        self.hidden = _hidden_to(self._init_hidden(self.protocol.batch_size), self.data.device)

    def _init_hidden(self, batch: int) -> Hidden:
        init = getattr(self.model, "init_hidden", None)
        if init is None:
            raise ConfigError(f"{type(self.model).__name__} has no init_hidden(batch_size); a language model needs one")
        return init(batch)

    def train_step(self, batch: TokenBatch, rng: np.random.Generator, ctx: StepContext) -> None:
        p = self.protocol
        self.hidden = detach_hidden(self.hidden)
        self.base_lr = float(self.optimizer.param_groups[0]["lr"])
        for group in self.optimizer.param_groups:
            group["lr"] = self.base_lr * batch.seq_len / p.bptt
        with ctx.autocast():
            if p.alpha > 0 or p.beta > 0:
                log_prob, self.hidden, outputs, dropped = forward_states(self.model, batch.x, self.hidden)
            else:
                log_prob, self.hidden = self.model(batch.x, self.hidden)
            flat = log_prob.reshape(-1, log_prob.shape[-1]).float()
            raw = nn.functional.nll_loss(flat, batch.y)
            loss = raw
            if p.alpha > 0:
                loss = loss + p.alpha * dropped.pow(2).mean()
            if p.beta > 0:
                loss = loss + p.beta * (outputs[1:] - outputs[:-1]).pow(2).mean()
        ctx.backward(loss)
        ctx.record(raw, (flat.detach().argmax(1) == batch.y).sum(), batch.y.numel())

    def after_update(self, batch: TokenBatch, rng: np.random.Generator, ctx: StepContext) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = self.base_lr

    @torch.no_grad()
    def score(self, name: str, *, averaged: bool) -> tuple[float, float]:
        """(mean NLL per predicted token, next-token accuracy %) on split ``name`` ("val" or "test"), windows of
        ``bptt`` rows, the hidden state carried over; with ``averaged``, on the optimiser's averaged weights."""
        source = self.data.streams[name]
        saved: list[tuple[torch.Tensor, torch.Tensor]] = []
        if averaged:
            for prm in self.model.parameters():
                ax = self.optimizer.averaged(prm)
                if ax is not None:
                    saved.append((prm, prm.detach().clone()))
                    prm.copy_(ax)
        try:
            self.model.eval()
            hidden = _hidden_to(self._init_hidden(source.shape[1]), self.data.device)
            total, correct, count = 0.0, 0, 0
            for i in range(0, source.shape[0] - 1, self.protocol.bptt):
                x, y = get_batch(source, i, self.protocol.bptt)
                log_prob, hidden = self.model(x, hidden)
                flat = log_prob.reshape(-1, log_prob.shape[-1]).float()
                total += float(nn.functional.nll_loss(flat, y, reduction="sum"))
                correct += int((flat.argmax(1) == y).sum())
                count += y.numel()
                hidden = detach_hidden(hidden)
        finally:
            for target, weights in saved:
                target.copy_(weights)
        return total / count, 100.0 * correct / count

    def evaluate(self, loop: TrainLoop[TokenBatch], name: str, noise_seed: int) -> tuple[float, float]:
        averaging = self.optimizer.averaging
        loss, acc = self.score(name, averaged=averaging)
        if name == "val":
            self.after_validation(loss, averaging)
        return loss, acc

    def after_validation(self, val_loss: float, averaging: bool) -> None:
        """Keep the best weights (averaged ones in the averaged phase) and switch to ASGD on the trigger."""
        if val_loss < self.best_loss:
            self.best_loss = val_loss
            self.best_weights = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            if averaging:
                for key, prm in self.model.named_parameters():
                    ax = self.optimizer.averaged(prm)
                    if ax is not None:
                        self.best_weights[key] = ax.detach().clone()
        if averaging:
            return
        if self.protocol.asgd and should_switch(self.val_history, val_loss, self.protocol.nonmono):
            self.optimizer.start_averaging()
            self.switched_epoch = self.epoch + 1
        self.val_history.append(val_loss)

    def state_dict(self) -> dict[str, Any]:
        return {"val_history": list(self.val_history), "best_loss": self.best_loss,
                "best_weights": dict(self.best_weights),
                "switched_epoch": -1 if self.switched_epoch is None else self.switched_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.val_history = [float(v) for v in state["val_history"]]
        self.best_loss = float(state["best_loss"])
        self.best_weights = dict(state["best_weights"])
        self.switched_epoch = None if int(state["switched_epoch"]) < 0 else int(state["switched_epoch"])


def perplexity(loss: float) -> float:
    """``exp(loss)``, infinite past overflow."""
    return math.exp(loss) if loss < 700 else math.inf


@dataclass(frozen=True)
class LMResult:
    """A finished language-model run: per-epoch records (losses are mean NLL per token, accuracies next-token %),
    the best validation perplexity, the test perplexity of the best-validation weights, the epoch (1-based) the
    optimiser switched to ASGD (``None``: never), the parameter count and wall time."""

    protocol: str
    dataset: str
    seed: int
    history: tuple[EpochRecord, ...]
    best_val_ppl: float
    test_loss: float
    test_ppl: float
    asgd_epoch: int | None
    params: int
    wall_time_s: float
    device: str

    @property
    def train_ppl(self) -> list[float]:
        return [perplexity(r.train_loss) for r in self.history]

    @property
    def val_ppl(self) -> list[float]:
        return [perplexity(r.val_loss) for r in self.history]


def train_lm(model: nn.Module, corpus: TextCorpus, protocol: str | LMProtocol, *, seed: int,
             checkpoint_dir: Path | None = None, device: str | None = None, progress: bool = True,
             threads: int = 1, on_epoch_end: Callable[[EpochRecord], None] | None = None) -> LMResult:
    """Train the language model ``model`` on ``corpus`` under ``protocol`` (module doc; ``LM_PROTOCOLS``) in the
    project's ``TrainLoop``: per-epoch seeding by ``(seed, epoch)``, a checkpoint after every epoch in
    ``checkpoint_dir`` with exact resume, ``TrainingError`` on a NaN loss. Scores validation after every epoch and,
    at the end, the best-validation weights on test at the protocol's ``test_batch_size``. ``on_epoch_end`` is
    called after each epoch's validation, before its checkpoint (``TrainLoop.run``)."""
    proto = get_lm_protocol(protocol)
    torch_device = resolve_device(device)
    embedding = getattr(model, "encoder", None)
    if isinstance(embedding, nn.Embedding) and embedding.num_embeddings != corpus.ntoken:
        raise DataError(f"the model's embedding has {embedding.num_embeddings} words, the corpus {corpus.ntoken}")
    params = sum(p.numel() for p in model.parameters())
    run_key = {"seed": seed, "protocol": repr(proto), "dataset": corpus.name, "vocab": corpus.ntoken,
               "sizes": [int(corpus.train.numel()), int(corpus.valid.numel()), int(corpus.test.numel())],
               "model": type(model).__name__, "params": params, "threads": threads}
    with isolated_run(torch_device, threads):
        model.to(torch_device)
        data = TokenData(corpus, proto, torch_device)
        optimizer = AveragedSGD(model.parameters(), lr=proto.lr, weight_decay=proto.weight_decay)
        step = LMStep(model, optimizer, data, proto)
        loop = TrainLoop(model, step, data, proto, torch_device, Schedule(proto), batches=BPTTBatches(data, proto),
                         optimizer=optimizer, float32=True)
        history, elapsed = loop.run(seed=seed, run_key=run_key, checkpoint_dir=checkpoint_dir,
                                    progress=progress, description=f"train {proto.name}",
                                    on_epoch_end=on_epoch_end)
        started = time.perf_counter()
        if step.best_weights:
            model.load_state_dict(step.best_weights)
        test_loss, _ = step.score("test", averaged=False)
        elapsed += time.perf_counter() - started
    return LMResult(protocol=proto.name, dataset=corpus.name, seed=seed, history=tuple(history),
                    best_val_ppl=perplexity(step.best_loss), test_loss=test_loss, test_ppl=perplexity(test_loss),
                    asgd_epoch=step.switched_epoch, params=params, wall_time_s=elapsed, device=str(torch_device))
