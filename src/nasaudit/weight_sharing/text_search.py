"""The language-model side of the weight-sharing methods of the RNN spaces (search-phase paper Sec. 4.2, Table 3A,
App. C.5-C.6): the search recipe of a setup, its token streams, one weight step and the shared-weight score of a
cell, from ``train.lm``'s pieces (``batchify``, BPTT windows, the AWD-LSTM step of DARTS's ``rnn/train_search.py``
at quark0/darts@8876e793763398e3ee62ac1823fa0a3c14e8c2c5: SGD with the learning rate scaled by ``seq_len / bptt``,
TAR, gradient clipping).

A cell's shared-weight score is ``-loss``, the mean NLL per token on the first ``rank_images`` validation tokens
(``WSSetup``: for a text corpus that count is tokens), windows of ``bptt``, the hidden state carried, no dropout:
the validation perplexity order reversed, as ``train.lm`` records ``val_score`` (higher is better).

A search checkpoints after every epoch in the job's folder (``save_search_state``: ``train.checkpoint``'s atomic
``checkpoint.pt``, with the run's key, the epoch and the rank records so far beside the method's own state) and a
rerun resumes from it (``resume_search``) to the numbers of a run never killed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from nasaudit.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from nasaudit.data.text import TextCorpus
    from nasaudit.spaces.rnn import RNNSpace
    from nasaudit.train.lm import AveragedSGD, LMProtocol
    from nasaudit.weight_sharing.base import MethodSettings, Trained
    from nasaudit.weight_sharing.setup import WSSetup

#: validation tokens fewer than this cannot rank (two rows of one column at least)
MIN_RANK_TOKENS = 4


def search_protocol(setup: WSSetup) -> LMProtocol:
    """The weight recipe of every RNN method of ``setup``: DARTS's ``darts_rnn_search`` (``train.lm``) at the
    setup's epochs, batch and width (``WSSetup.sizes``: ``channels`` = emsize = nhid); the ``tiny`` preset takes the
    lighter dropouts and ``bptt`` of ``lm_cpu_small``, sized for the CPU."""
    from nasaudit.train.lm import LM_PROTOCOLS

    sizes = setup.sizes("rnn")
    if sizes["depth"] != 1:
        raise ConfigError(f"an RNN supernet has one cell layer (DARTS, ENAS); depth {sizes['depth']} was given")
    base = LM_PROTOCOLS["darts_rnn_search"]
    changes: dict[str, Any] = {"epochs": setup.epochs, "batch_size": sizes["batch_size"],
                               "emsize": sizes["channels"], "nhid": sizes["channels"]}
    if setup.preset == "tiny":
        small = LM_PROTOCOLS["lm_cpu_small"]
        changes.update(bptt=small.bptt, model_options=dict(small.model_options))
    return replace(base, name=f"{base.name}_{setup.preset}", **changes)


def text_corpus(data: Any, method: str) -> TextCorpus:
    """The seed's data as a text corpus (``WSSetup.load_data``), or one line saying the method needs one."""
    from nasaudit.data.text import TEXT_DATASETS, TextCorpus

    if not isinstance(data, TextCorpus):
        raise ConfigError(f"{method} trains a language model on a text corpus ({', '.join(TEXT_DATASETS)}), not "
                          f"the image dataset {getattr(data, 'name', data)!r}")
    return data


@dataclass
class Streams:
    """The batchified token streams of a search: ``train`` (weights), ``search`` (validation at the training batch:
    DARTS's alpha steps, ENAS's rewards) and ``rank`` (the first ``rank_images`` validation tokens, at the
    evaluation batch, that score cells)."""

    train: torch.Tensor
    search: torch.Tensor
    rank: torch.Tensor

    @classmethod
    def of(cls, corpus: TextCorpus, protocol: LMProtocol, rank_tokens: int, device: torch.device) -> Streams:
        from nasaudit.data.text import batchify

        return cls(batchify(corpus.train, protocol.batch_size).to(device),
                   batchify(corpus.valid, min(protocol.batch_size, corpus.valid.numel() // 2)).to(device),
                   score_stream(corpus, protocol, rank_tokens, device))


def shared_model(corpus: TextCorpus, protocol: LMProtocol, cell_type: type, n_nodes: int, seed: int,
                 device: torch.device) -> Any:
    """A search's language model: ``cell_type`` (``nn.rnn_search``'s DARTS search cell or ENAS shared cell) of
    ``n_nodes`` nodes at the protocol's width and dropouts inside ``SharedRNNModel``, weights from ``seed``."""
    from nasaudit.nn.rnn_search import SharedRNNModel

    opts = protocol.model_options
    cell = cell_type(protocol.emsize, protocol.nhid, n_nodes, opts.get("dropouth", 0.0), opts.get("dropoutx", 0.0))
    return SharedRNNModel(corpus.ntoken, cell, opts.get("dropout", 0.0), opts.get("dropouti", 0.0),
                          opts.get("dropoute", 0.0), seed=seed).to(device)


def score_stream(corpus: TextCorpus, protocol: LMProtocol, tokens: int, device: torch.device) -> torch.Tensor:
    """The first ``tokens`` validation tokens at the evaluation batch: the stream cells are scored on."""
    from nasaudit.data.text import batchify

    valid = corpus.valid[:tokens]
    if valid.numel() < MIN_RANK_TOKENS:
        raise ConfigError(f"ranking needs at least {MIN_RANK_TOKENS} validation tokens, got {valid.numel()}")
    return batchify(valid, min(protocol.eval_batch_size, valid.numel() // 2)).to(device)


def lm_loss(model: Any, x: torch.Tensor, y: torch.Tensor, hidden: torch.Tensor, protocol: LMProtocol
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(NLL + AR + TAR of one window, the new hidden state), as DARTS's search weight step computes it."""
    from torch.nn import functional as F

    log_prob, hidden, outputs, dropped = model.forward_states(x, hidden)
    loss = F.nll_loss(log_prob.reshape(-1, log_prob.shape[-1]), y)
    if protocol.alpha > 0:
        loss = loss + protocol.alpha * dropped.pow(2).mean()
    if protocol.beta > 0:
        loss = loss + protocol.beta * (outputs[1:] - outputs[:-1]).pow(2).mean()
    return loss, hidden


def weight_step(model: Any, optimizer: AveragedSGD, x: torch.Tensor, y: torch.Tensor, hidden: torch.Tensor,
                seq_len: int, protocol: LMProtocol) -> torch.Tensor:
    """One SGD step of the shared weights on a window (learning rate scaled by ``seq_len / bptt`` for it, gradient
    clipped); returns the detached hidden state. A NaN loss is a one-line ``TrainingError``."""
    import torch

    from nasaudit.errors import TrainingError

    model.train()
    base = float(optimizer.param_groups[0]["lr"])
    for group in optimizer.param_groups:
        group["lr"] = base * seq_len / protocol.bptt
    optimizer.zero_grad()
    loss, hidden = lm_loss(model, x, y, hidden.detach(), protocol)
    if not math.isfinite(float(loss.detach())):
        raise TrainingError(f"the shared weights' loss became {float(loss.detach())}")
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), protocol.grad_clip or math.inf)
    optimizer.step()
    for group in optimizer.param_groups:
        group["lr"] = base
    return hidden.detach()


def score_loss(model: Any, source: torch.Tensor, bptt: int) -> float:
    """Mean NLL per predicted token of ``model`` (in evaluation mode) on ``source`` ``[rows, batch]``, windows of
    ``bptt``, the hidden state carried."""
    import torch
    from torch.nn import functional as F

    from nasaudit.data.text import get_batch

    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        hidden = model.init_hidden(source.shape[1])
        for i in range(0, source.shape[0] - 1, bptt):
            x, y = get_batch(source, i, bptt)
            log_prob, hidden = model(x, hidden)
            total += float(F.nll_loss(log_prob.reshape(-1, log_prob.shape[-1]), y, reduction="sum"))
            count += y.numel()
    return total / count


def cell_score(model: Any, arch: Any, source: torch.Tensor, bptt: int) -> float:
    """The shared-weight score of ``arch`` on the ENAS shared cell of ``model``: ``-score_loss`` on ``source``."""
    model.cell.arch = arch
    return -score_loss(model, source, bptt)


def epoch_windows(rows: int, protocol: LMProtocol, rng: np.random.Generator) -> list[tuple[int, int]]:
    """(start row, seq_len) of an epoch's windows over ``rows`` rows (``train.lm.window_lengths``)."""
    from nasaudit.train.lm import window_lengths

    out, i = [], 0
    for seq_len in window_lengths(rows, protocol, rng):
        out.append((i, seq_len))
        i += seq_len
    return out


class Windows:
    """The training stream's BPTT windows, one pass after another (each pass's lengths drawn from its own seeded
    generator), so that epochs of ``archs * batches`` windows continue where the last one stopped."""

    def __init__(self, rows: int, protocol: LMProtocol, seed: int) -> None:
        self.rows, self.protocol, self.seed = rows, protocol, seed
        self.passes = 0
        self.pending: list[tuple[int, int]] = []

    def next(self) -> tuple[int, int, bool]:
        """(start row, seq_len, whether a new pass starts here)."""
        import numpy as np

        fresh = not self.pending
        if fresh:
            self.passes += 1
            rng = np.random.default_rng([self.seed, self.passes])
            self.pending = epoch_windows(self.rows, self.protocol, rng)[::-1]
        start, seq_len = self.pending.pop()
        return start, seq_len, fresh

    def state_dict(self) -> dict[str, Any]:
        """The passes drawn and the windows left of the current one (a checkpoint's part)."""
        return {"passes": self.passes, "pending": [[start, seq_len] for start, seq_len in self.pending]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.passes = int(state["passes"])
        self.pending = [(int(start), int(seq_len)) for start, seq_len in state["pending"]]


def search_run_key(method: str, setup: WSSetup, settings: MethodSettings, seed: int) -> dict[str, Any]:
    """What a search's checkpoint must belong to: the method, its settings, the setup and the seed."""
    return {"method": method, "settings": repr(settings), "setup": repr(setup.to_options()), "seed": int(seed)}


def save_search_state(folder: Path | None, run_key: dict[str, Any], epoch: int, trained: Trained,
                      state: dict[str, Any]) -> None:
    """Checkpoint a search after ``epoch`` in ``folder`` (nothing without one): the method's ``state`` (tensors and
    plain containers) with the run's key, the epoch and ``trained``'s rank records so far."""
    if folder is None:
        return
    from nasaudit.train.checkpoint import save_checkpoint

    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder, {**state, "run": run_key, "epoch": int(epoch), "rank_epochs": list(trained.rank_epochs),
                             "rank_scores": [list(scores) for scores in trained.rank_scores]})


def resume_search(folder: Path | None, run_key: dict[str, Any], trained: Trained,
                  apply: Callable[[dict[str, Any]], None]) -> int:
    """The epochs a search checkpointed in ``folder`` has done (0: none, or no folder); its rank records go back
    into ``trained`` and ``apply`` restores the method's own state (a file that does not fit is one
    ``DataError``, a checkpoint of another run one ``ConfigError``)."""
    if folder is None:
        return 0
    from nasaudit.train.checkpoint import CHECKPOINT_NAME, load_checkpoint, restoring

    state = load_checkpoint(folder, run_key)
    if state is None:
        return 0
    with restoring(folder / CHECKPOINT_NAME):
        apply(state)
        trained.rank_epochs = [int(e) for e in state["rank_epochs"]]
        trained.rank_scores = [[float(s) for s in scores] for scores in state["rank_scores"]]
        return int(state["epoch"])


def cell_macs(ninp: int, nhid: int, node_rows: int) -> int:
    """Forward multiply-adds per token of a cell: ``W0`` on ``[x, h]`` and ``node_rows`` node matrices."""
    return (ninp + nhid) * 2 * nhid + node_rows * nhid * 2 * nhid


def token_macs(setup: WSSetup, node_rows: int, ntoken: int) -> int:
    """Forward multiply-adds per token of the language model of ``setup``'s width: the cell and the decoder."""
    width = search_protocol(setup).nhid
    return cell_macs(width, width, node_rows) + width * ntoken


def cell_space(space: Any) -> RNNSpace:
    """The recurrent cell space searched (the base of a reduced space), or one line saying it is none."""
    from nasaudit.spaces.rnn import RNNSpace
    from nasaudit.spaces.subset import PartOfSpace

    base = space.base if isinstance(space, PartOfSpace) else space
    if not isinstance(base, RNNSpace):
        raise ConfigError(f"an RNN weight-sharing method searches a recurrent cell space, not {space.name!r}")
    return base


class CellSource(Protocol):
    """Which cell trains on each window of a single-path search, and what it does after each epoch."""

    def draw(self, rng: np.random.Generator) -> Any:
        """The cell of the next training window."""

    def end_epoch(self, epoch: int, score: Callable[[list[Any], int], np.ndarray]) -> None:
        """After ``epoch``'s windows, before its checkpoint; ``score(cells, tokens)`` scores cells with the shared
        weights on the first ``tokens`` validation tokens."""

    def restore(self, done: int) -> None:
        """Back to the state after epoch ``done`` of a resumed search (0: a fresh one)."""


def train_single_path(method: str, setup: WSSetup, space: Any, splits: Any, seed: int, work_dir: Path | None,
                      settings: MethodSettings, windows_per_epoch: int | None, cells: CellSource) -> Trained:
    """Single-path weight sharing over the ENAS shared cell (``nn.rnn_search``): every BPTT window trains the cell
    ``cells`` draws (``weight_step``), ``windows_per_epoch`` windows an epoch (None: one pass over the training
    stream); after each ranked epoch every ranked cell is scored on the rank tokens; a checkpoint after every epoch
    (``save_search_state``) resumes a killed seed. ``Trained.state`` is ``(model, rank stream, bptt)``."""
    import numpy as np

    from nasaudit.data.text import get_batch
    from nasaudit.nn.rnn_search import ENASSharedCell
    from nasaudit.train.lm import AveragedSGD
    from nasaudit.train.loop import resolve_device
    from nasaudit.weight_sharing.base import Trained, ranked_epochs

    corpus = text_corpus(splits, method)
    protocol = search_protocol(setup)
    device = resolve_device(setup.device)
    model = shared_model(corpus, protocol, ENASSharedCell, cell_space(space).n_nodes, seed, device)
    cell = model.cell
    optimizer = AveragedSGD(model.parameters(), lr=protocol.lr, weight_decay=protocol.weight_decay)
    streams = Streams.of(corpus, protocol, setup.rank_images, device)
    windows = Windows(streams.train.shape[0], protocol, seed)
    per_epoch = windows_per_epoch or max(1, streams.train.shape[0] // protocol.bptt)
    ranked = [space.parse(a) for a in setup.ranked]
    epochs = set(ranked_epochs(setup.epochs))
    trained = Trained()
    hidden = model.init_hidden(streams.train.shape[1])
    run_key = search_run_key(method, setup, settings, seed)

    def restore(state: dict[str, Any]) -> None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        model.load_dropout_state(state["dropout"])
        windows.load_state_dict(state["windows"])
        hidden.copy_(state["hidden"])

    def score(archs: list[Any], tokens: int) -> np.ndarray:
        source = score_stream(corpus, protocol, tokens, device)
        return np.array([cell_score(model, arch, source, protocol.bptt) for arch in archs], dtype=np.float64)

    done = resume_search(work_dir, run_key, trained, restore)
    cells.restore(done)
    for epoch in range(done + 1, setup.epochs + 1):
        rng = np.random.default_rng([seed, epoch])
        for _ in range(per_epoch):
            cell.arch = cells.draw(rng)
            start, seq_len, fresh = windows.next()
            if fresh:
                hidden = model.init_hidden(streams.train.shape[1])
            x, y = get_batch(streams.train, start, seq_len)
            hidden = weight_step(model, optimizer, x, y, hidden, seq_len, protocol)
        cells.end_epoch(epoch, score)
        if epoch in epochs and ranked:
            trained.rank_epochs.append(epoch)
            trained.rank_scores.append([cell_score(model, arch, streams.rank, protocol.bptt) for arch in ranked])
        save_search_state(work_dir, run_key, epoch, trained, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(), "dropout": model.dropout_state(),
            "windows": windows.state_dict(), "hidden": hidden})
    trained.state = (model, streams.rank, protocol.bptt)
    return trained
