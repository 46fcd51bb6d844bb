"""Speed of single-path weight sharing in the RNN space (``text_search.train_single_path``, which ``spos_rnn`` and
``nao_rnn`` train with) against a plain PyTorch loop over the same shared model, windows and cells.

Usage: python benchmarks/bench_rnn_search.py [--space rnn] [--channels 32] [--batch-size 32] [--tokens 20000]
       [--epochs 2] [--threads N]

Both train the ENAS shared cell on the first ``--tokens`` Jargon training tokens for ``--epochs`` epochs, a cell
drawn uniformly per BPTT window (the same windows: both seeded 0). Ours adds what a comparison needs (DARTS's
search loss with AR/TAR, the learning rate scaled per window length, a checkpoint after every epoch, the ranked
cells scored after the ranked epochs); the baseline is a bare ``zero_grad / forward / NLL / backward / clip / SGD
step``. Prints tokens per second of each and their ratio (ours' speed over the baseline's).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from nasaudit.data.text import get_batch
from nasaudit.nn.rnn_search import ENASSharedCell
from nasaudit.spaces import get_space
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.methods.spos_rnn import UniformCells
from nasaudit.weight_sharing.setup import WSSetup
from nasaudit.weight_sharing.text_search import Streams, Windows, cell_space, search_protocol, shared_model


def plain_loop(setup: WSSetup, epochs: int) -> tuple[float, int]:
    """(seconds, tokens trained) of the bare loop."""
    corpus = setup.load_corpus()
    protocol = search_protocol(setup)
    space = get_space(setup.space)
    model = shared_model(corpus, protocol, ENASSharedCell, cell_space(space).n_nodes, 0, torch.device("cpu"))
    cell = model.cell
    optimizer = torch.optim.SGD(model.parameters(), lr=protocol.lr, weight_decay=protocol.weight_decay)
    streams = Streams.of(corpus, protocol, setup.rank_images, torch.device("cpu"))
    windows = Windows(streams.train.shape[0], protocol, 0)
    per_epoch = max(1, streams.train.shape[0] // protocol.bptt)
    cells = UniformCells(space)
    tokens = 0
    started = time.perf_counter()
    hidden = model.init_hidden(streams.train.shape[1])
    for epoch in range(1, epochs + 1):
        rng = np.random.default_rng([0, epoch])
        for _ in range(per_epoch):
            cell.arch = cells.draw(rng)
            start, seq_len, fresh = windows.next()
            if fresh:
                hidden = model.init_hidden(streams.train.shape[1])
            x, y = get_batch(streams.train, start, seq_len)
            model.train()
            optimizer.zero_grad()
            log_prob, hidden = model(x, hidden.detach())
            loss = F.nll_loss(log_prob.reshape(-1, log_prob.shape[-1]), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), protocol.grad_clip or math.inf)
            optimizer.step()
            tokens += y.numel()
    return time.perf_counter() - started, tokens


def ours(setup: WSSetup) -> float:
    """Seconds of ``spos_rnn``'s training (``train_single_path``, seed 0: the baseline's windows) with a checkpoint
    folder."""
    method = get_method("spos_rnn", {"derive_samples": 1})
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        method.train(setup, get_space(setup.space), setup.load_corpus(), 0, Path(folder))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="rnn")
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    space = get_space(args.space)
    ranked = tuple(space.format(a) for a in space.sample_many(8, 0))
    setup = WSSetup(space=args.space, dataset="jargon", epochs=args.epochs, channels=args.channels,
                    batch_size=args.batch_size, train_tokens=args.tokens, rank_archs=ranked, rank_images=1000)
    base_seconds, tokens = plain_loop(setup, args.epochs)
    our_seconds = ours(setup)
    print(f"torch threads {torch.get_num_threads()}, space {args.space}, width {args.channels}, batch "
          f"{args.batch_size}, {args.tokens:,} training tokens, {args.epochs} epoch(s): {tokens:,} tokens trained "
          "by each")
    print(f"plain PyTorch loop: {base_seconds:.2f} s = {tokens / base_seconds:,.0f} tokens/s")
    print(f"train_single_path (spos_rnn, checkpoints, {len(ranked)} cells ranked): {our_seconds:.2f} s = "
          f"{tokens / our_seconds:,.0f} tokens/s; ratio ours/plain {base_seconds / our_seconds:.2f} (speed)")

if __name__ == "__main__":
    main()
