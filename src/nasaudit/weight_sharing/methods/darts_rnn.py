"""DARTS in the RNN spaces (Liu et al. 2019, Sec. 2.1-2.4, 3.1; search-phase paper Sec. 4.2, Table 3A, Fig. 3,
App. C.6: "no changes are needed except modifying the number of nodes"): first-order DARTS of
quark0/darts@8876e793763398e3ee62ac1823fa0a3c14e8c2c5 ``rnn/train_search.py`` and ``rnn/architect.py``.

Each BPTT window of an epoch takes an alpha step (Adam, ``arch_lr`` 3e-3, ``arch_weight_decay`` 1e-3, on the
validation window at the same row, ``search`` stream, its own hidden state carried) and then a weight step
(``text_search.weight_step``) through the mixed cell ``nn.rnn_search.DARTSSearchCell``; alpha starts at
``1e-3 * N(0, 1)`` drawn from the seed. The final cell is the release's ``genotype()`` (per node the predecessor
and then the activation of the largest non-``none`` weight; ``rnn_search.derive_darts_genotype``). A cell's
shared-weight score (the ranking) is ``-loss`` of the mixed supernet with every node's weights one-hot on that
cell (``one_hot_weights``), batch normalisation on the batch's statistics, on ``rank_images`` validation tokens.

Ours differs on purpose: the supernet width and batch are the comparison's (``WSSetup.sizes``: the ``paper`` preset
is the release's 300 units and batch 256); no ``small_batch_size`` accumulation; within a reduced space the
selection offers only its members (the release's cell if a member, else the strongest member).

Resumable: after every epoch the job's folder gets a checkpoint (``text_search.save_search_state``: weights, alpha,
both optimisers, the dropout masks' generators, the rank records), so a killed seed resumes from its last epoch and
ends as a run never killed (the windows and their lengths are drawn per epoch from ``(seed, epoch)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from nasaudit.weight_sharing.base import MethodSettings, Trained, WeightSharingMethod, ranked_epochs

if TYPE_CHECKING:
    from nasaudit.data.splits import DatasetSplits
    from nasaudit.data.text import TextCorpus
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.setup import WSSetup


class DartsRNNSettings(MethodSettings):
    """The architecture optimiser of DARTS's RNN search (``rnn/train_search.py``: ``--arch_lr``,
    ``--arch_wdecay``)."""

    arch_lr: float = Field(3e-3, gt=0, le=10)
    arch_weight_decay: float = Field(1e-3, ge=0, le=1)


def reduced_members(space: SearchSpace) -> list[Any] | None:
    """The members of a reduced space (``SubsetSpace``), or None for a whole space."""
    from nasaudit.spaces.subset import SubsetSpace

    return list(space.members) if isinstance(space, SubsetSpace) else None


class DartsRNN(WeightSharingMethod):
    """First-order DARTS in an RNN space (module doc)."""

    name = "darts_rnn"
    description = "DARTS (first order) in the recurrent cell space, final cell by the largest weights (Liu et al. 2019)"
    families: ClassVar[tuple[str, ...]] = ("rnn",)
    reduced_families: ClassVar[tuple[str, ...]] = ("rnn",)
    settings_model = DartsRNNSettings
    settings: DartsRNNSettings

    def check(self, space: SearchSpace, *, reduced: bool = False) -> str | None:
        from nasaudit.spaces.rnn import RNN_OPS
        from nasaudit.weight_sharing.text_search import cell_space

        problem = super().check(space, reduced=reduced)
        if problem is None and cell_space(space).output != "all":
            return f"{self.name}'s search cell averages every node; space {space.name!r} averages its loose ends"
        if problem is None and tuple(space.ops) != RNN_OPS:
            return f"{self.name}'s search cell mixes all of {list(RNN_OPS)}; a masked space is not supported"
        return problem

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits | TextCorpus, seed: int,
              work_dir: Path | None) -> Trained:
        import numpy as np
        import torch

        from nasaudit.data.text import get_batch
        from nasaudit.nn.rnn_search import DARTSSearchCell, alpha_rows, one_hot_weights
        from nasaudit.train.lm import AveragedSGD
        from nasaudit.train.loop import resolve_device
        from nasaudit.weight_sharing.text_search import (
            Streams,
            cell_space,
            epoch_windows,
            lm_loss,
            resume_search,
            save_search_state,
            score_loss,
            search_protocol,
            search_run_key,
            shared_model,
            text_corpus,
            weight_step,
        )

        corpus = text_corpus(splits, self.name)
        protocol = search_protocol(setup)
        device = resolve_device(setup.device)
        rnn = cell_space(space)
        n_nodes = rnn.n_nodes
        model = shared_model(corpus, protocol, DARTSSearchCell, n_nodes, seed, device)
        cell = model.cell
        generator = torch.Generator().manual_seed(seed)
        alpha = (torch.randn(alpha_rows(n_nodes), cell.alpha.shape[1], generator=generator) * 1e-3).to(device)
        alpha.requires_grad_(True)
        cell.alpha = alpha
        optimizer = AveragedSGD(model.parameters(), lr=protocol.lr, weight_decay=protocol.weight_decay)
        arch_optimizer = torch.optim.Adam([alpha], lr=self.settings.arch_lr,
                                          weight_decay=self.settings.arch_weight_decay)
        streams = Streams.of(corpus, protocol, setup.rank_images, device)
        ranked = [rnn.parse(a) for a in setup.ranked]
        epochs = set(ranked_epochs(setup.epochs))
        trained = Trained()
        search_rows = streams.search.shape[0]
        run_key = search_run_key(self.name, setup, self.settings, seed)

        def restore(state: dict[str, Any]) -> None:
            model.load_state_dict(state["model"])
            with torch.no_grad():
                alpha.copy_(state["alpha"])
            optimizer.load_state_dict(state["optimizer"])
            arch_optimizer.load_state_dict(state["arch_optimizer"])
            model.load_dropout_state(state["dropout"])

        done = resume_search(work_dir, run_key, trained, restore)
        for epoch in range(done + 1, setup.epochs + 1):
            rng = np.random.default_rng([seed, epoch])
            hidden = model.init_hidden(streams.train.shape[1])
            hidden_valid = model.init_hidden(streams.search.shape[1])
            for start, seq_len in epoch_windows(streams.train.shape[0], protocol, rng):
                model.train()
                xv, yv = get_batch(streams.search, start % (search_rows - 1), protocol.bptt)
                arch_optimizer.zero_grad()
                loss, hidden_valid = lm_loss(model, xv, yv, hidden_valid.detach(), protocol)
                loss.backward()
                arch_optimizer.step()
                x, y = get_batch(streams.train, start, seq_len)
                hidden = weight_step(model, optimizer, x, y, hidden, seq_len, protocol)
                hidden_valid = hidden_valid.detach()
            if epoch in epochs and ranked:
                scores = []
                cell.batch_stats = True
                for arch in ranked:
                    cell.fixed = one_hot_weights(arch).to(device)
                    scores.append(-score_loss(model, streams.rank, protocol.bptt))
                cell.fixed, cell.batch_stats = None, False
                trained.rank_epochs.append(epoch)
                trained.rank_scores.append(scores)
            save_search_state(work_dir, run_key, epoch, trained, {
                "model": model.state_dict(), "alpha": alpha.detach(), "optimizer": optimizer.state_dict(),
                "arch_optimizer": arch_optimizer.state_dict(), "dropout": model.dropout_state()})
        trained.state = torch.softmax(alpha.detach(), dim=-1).cpu().numpy()
        return trained

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits | TextCorpus,
               seed: int) -> str:
        from nasaudit.nn.rnn_search import derive_darts_genotype
        from nasaudit.weight_sharing.text_search import cell_space

        n_nodes = cell_space(space).n_nodes
        chosen = derive_darts_genotype(trained.state, n_nodes, tuple(space.ops), reduced_members(space))
        return space.format(chosen)

    def cost(self, setup: WSSetup) -> float:
        """Per training token of every epoch a weight step and an alpha step (each forward + backward, 3 forward
        passes) through the mixed cell (every node reads every earlier state: ``sum(1..n)`` node matrices)."""
        from nasaudit.nn.rnn_search import alpha_rows
        from nasaudit.weight_sharing.cost import FORWARD_BACKWARD
        from nasaudit.weight_sharing.text_search import cell_space, search_protocol, token_macs

        corpus = setup.load_corpus()
        n_nodes = cell_space(setup.base_space()).n_nodes
        batch = search_protocol(setup).batch_size
        tokens = (corpus.train.numel() // batch) * batch
        macs = token_macs(setup, alpha_rows(n_nodes), corpus.ntoken)
        return float(setup.epochs * tokens * 2 * FORWARD_BACKWARD * macs)
