"""ENAS in the RNN spaces (Pham et al. 2018, Sec. 2.1-2.3; search-phase paper Sec. 4.2, Table 3A, Fig. 3, App. C.1
and C.6): the PTB search of melodyguan/enas@00787a5f5162814ce8f62a603b76738d240df8df (``src/ptb/main.py``,
``ptb_enas_child.py``, ``ptb_enas_controller.py``, ``scripts/ptb_search.sh``) in the DARTS-style port.

An epoch trains the shared cell (``nn.rnn_search.ENASSharedCell``: one matrix per (node, predecessor)) on
``archs_per_epoch`` cells the controller samples, each on ``batches_per_arch`` consecutive BPTT windows of the
training stream (App. C.6 for the reduced space: 20 cells of 10 windows each), by ``text_search.weight_step``;
then the controller (``nn.rnn_search.RNNController``) takes ``controller_steps`` Adam steps (lr 1e-3), each on
``controller_batch`` samples (the release's 100 steps of 10 aggregated samples), rewarded ``80 / ppl`` of the
sampled cell with the shared weights on one validation window drawn at random (loss capped at 10, hidden state
from zeros, no dropout), plus ``1e-3`` times the sample's entropy, against a moving baseline (decay 0.99) updated
sample by sample; the loss ``-log p * (reward - baseline)``. The final cell is the best, by the shared weights'
validation perplexity on ``rank_images`` tokens, of ``derive_samples`` controller samples (ENAS Sec. 2.3). A cell's
shared-weight score (the ranking) is ``-loss`` of its path on those tokens.

Ours differs on purpose: the shared weights follow DARTS's search recipe (``text_search.search_protocol``: SGD lr 20
scaled per window, TAR, clip 0.25, the comparison's width and batch) instead of the release's child optimiser, as
in the DARTS-style port every method of a comparison shares; the controller's entropy term is the entropy of each
decision's distribution (the release adds ``-log p * p`` of the chosen option); within a reduced space the
controller offers only decisions some member completes.

Resumable: after every epoch the job's folder gets a checkpoint (``text_search.save_search_state``: shared weights,
controller, both optimisers, the moving baseline, the dropout masks' generators, the training stream's position and
hidden state, the rank records), so a killed seed resumes from its last epoch and ends as a run never killed (the
controller's samples and reward windows are drawn per epoch from ``(seed, epoch)``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from nasaudit.weight_sharing.base import MethodSettings, Trained, WeightSharingMethod, ranked_epochs

if TYPE_CHECKING:
    import numpy as np
    import torch

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.data.text import TextCorpus
    from nasaudit.nn.rnn_search import RNNController
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.train.lm import LMProtocol
    from nasaudit.weight_sharing.setup import WSSetup

#: the release's controller: Adam learning rate, baseline decay, entropy weight, reward numerator and loss cap
CONTROLLER_LR = 1e-3
BASELINE_DECAY = 0.99
ENTROPY_WEIGHT = 1e-3
REWARD_C = 80.0
LOSS_CAP = 10.0


class ENASRNNSettings(MethodSettings):
    """ENAS in the RNN spaces: cells per epoch and windows per cell (App. C.6), controller steps per epoch and
    samples per step (``ptb_search.sh``), samples that derive the final cell, the controller's LSTM size."""

    archs_per_epoch: int = Field(20, ge=1, le=100_000)
    batches_per_arch: int = Field(10, ge=1, le=100_000)
    controller_steps: int = Field(100, ge=1, le=100_000)
    controller_batch: int = Field(10, ge=1, le=10_000)
    derive_samples: int = Field(100, ge=1, le=1_000_000)
    controller_hidden: int = Field(100, ge=1, le=1024)


class ENASRNN(WeightSharingMethod):
    """ENAS in an RNN space (module doc)."""

    name = "enas_rnn"
    description = "ENAS in the recurrent cell space: LSTM controller by REINFORCE over a shared cell (Pham et al. 2018)"
    families: ClassVar[tuple[str, ...]] = ("rnn",)
    reduced_families: ClassVar[tuple[str, ...]] = ("rnn",)
    settings_model = ENASRNNSettings
    settings: ENASRNNSettings

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits | TextCorpus, seed: int,
              work_dir: Path | None) -> Trained:
        import numpy as np
        import torch

        from nasaudit.data.text import get_batch
        from nasaudit.nn.rnn_search import ENASSharedCell, RNNController, decision_tree
        from nasaudit.train.lm import AveragedSGD
        from nasaudit.train.loop import resolve_device
        from nasaudit.weight_sharing.methods.darts_rnn import reduced_members
        from nasaudit.weight_sharing.text_search import (
            Streams,
            Windows,
            cell_score,
            cell_space,
            resume_search,
            save_search_state,
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
        members = reduced_members(space)
        model = shared_model(corpus, protocol, ENASSharedCell, rnn.n_nodes, seed, device)
        cell = model.cell
        controller = RNNController(rnn.n_nodes, tuple(space.ops), hidden=self.settings.controller_hidden, seed=seed,
                                   allowed=decision_tree(members, tuple(space.ops)) if members else None)
        controller_optimizer = torch.optim.Adam(controller.parameters(), lr=CONTROLLER_LR)
        optimizer = AveragedSGD(model.parameters(), lr=protocol.lr, weight_decay=protocol.weight_decay)
        streams = Streams.of(corpus, protocol, setup.rank_images, device)
        windows = Windows(streams.train.shape[0], protocol, seed)
        ranked = [space.parse(a) for a in setup.ranked]
        epochs = set(ranked_epochs(setup.epochs))
        trained = Trained()
        baseline = 0.0
        hidden = model.init_hidden(streams.train.shape[1])
        run_key = search_run_key(self.name, setup, self.settings, seed)

        def restore(state: dict[str, Any]) -> None:
            nonlocal baseline
            model.load_state_dict(state["model"])
            controller.load_state_dict(state["controller"])
            optimizer.load_state_dict(state["optimizer"])
            controller_optimizer.load_state_dict(state["controller_optimizer"])
            model.load_dropout_state(state["dropout"])
            windows.load_state_dict(state["windows"])
            hidden.copy_(state["hidden"])
            baseline = float(state["baseline"])

        done = resume_search(work_dir, run_key, trained, restore)
        for epoch in range(done + 1, setup.epochs + 1):
            rng = np.random.default_rng([seed, epoch])
            for _ in range(self.settings.archs_per_epoch):
                with torch.no_grad():
                    cell.arch = controller.sample(rng).arch
                for _ in range(self.settings.batches_per_arch):
                    start, seq_len, fresh = windows.next()
                    if fresh:
                        hidden = model.init_hidden(streams.train.shape[1])
                    x, y = get_batch(streams.train, start, seq_len)
                    hidden = weight_step(model, optimizer, x, y, hidden, seq_len, protocol)
            baseline = self._train_controller(model, controller, controller_optimizer, streams.search, protocol,
                                              baseline, np.random.default_rng([seed, epoch, 1]))
            if epoch in epochs and ranked:
                trained.rank_epochs.append(epoch)
                trained.rank_scores.append([cell_score(model, arch, streams.rank, protocol.bptt) for arch in ranked])
            save_search_state(work_dir, run_key, epoch, trained, {
                "model": model.state_dict(), "controller": controller.state_dict(),
                "optimizer": optimizer.state_dict(), "controller_optimizer": controller_optimizer.state_dict(),
                "dropout": model.dropout_state(), "windows": windows.state_dict(), "hidden": hidden,
                "baseline": baseline})
        trained.state = (model, controller, streams.rank, protocol.bptt)
        return trained

    def _train_controller(self, model: Any, controller: RNNController, optimizer: torch.optim.Optimizer,
                          search: torch.Tensor, protocol: LMProtocol, baseline: float, rng: np.random.Generator
                          ) -> float:
        """The epoch's controller steps (module doc); returns the moving baseline."""
        import math

        import torch

        from nasaudit.weight_sharing.text_search import score_loss

        last = max(1, search.shape[0] - 1 - protocol.bptt)
        for _ in range(self.settings.controller_steps):
            losses = []
            for _ in range(self.settings.controller_batch):
                sample = controller.sample(rng)
                start = int(rng.integers(last))
                model.cell.arch = sample.arch
                loss = score_loss(model, search[start:start + protocol.bptt + 1], protocol.bptt)
                reward = REWARD_C / math.exp(min(loss, LOSS_CAP)) + ENTROPY_WEIGHT * float(sample.entropy.detach())
                baseline -= (1 - BASELINE_DECAY) * (baseline - reward)
                losses.append(-sample.log_prob * (reward - baseline))
            optimizer.zero_grad()
            torch.stack(losses).mean().backward()
            optimizer.step()
        return baseline

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits | TextCorpus,
               seed: int) -> str:
        import numpy as np
        import torch

        from nasaudit.weight_sharing.text_search import cell_score

        model, controller, rank, bptt = trained.state
        rng = np.random.default_rng([seed, setup.epochs, 2])
        with torch.no_grad():
            candidates = list(dict.fromkeys(controller.sample(rng).arch for _ in range(self.settings.derive_samples)))
        scores = [cell_score(model, arch, rank, bptt) for arch in candidates]
        return space.format(candidates[int(np.argmax(scores))])

    def cost(self, setup: WSSetup) -> float:
        """Single-path weight steps (3 forward passes per token), the controller's samples each scored on one
        validation window, and the derive samples scored on the ranking tokens (the controller not counted)."""
        from nasaudit.weight_sharing.cost import FORWARD_BACKWARD
        from nasaudit.weight_sharing.text_search import cell_space, search_protocol, token_macs

        s = self.settings
        corpus = setup.load_corpus()
        protocol = search_protocol(setup)
        macs = token_macs(setup, cell_space(setup.base_space()).n_nodes, corpus.ntoken)
        window = protocol.batch_size * protocol.bptt
        weights = setup.epochs * s.archs_per_epoch * s.batches_per_arch * window * FORWARD_BACKWARD
        rewards = setup.epochs * s.controller_steps * s.controller_batch * window
        derive = s.derive_samples * min(setup.rank_images, corpus.valid.numel())
        return float((weights + rewards + derive) * macs)

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        s = self.settings
        return (f"{super().describe_cost(setup, family)}, {s.archs_per_epoch} cells x {s.batches_per_arch} windows "
                f"per epoch + {s.controller_steps * s.controller_batch} controller samples per epoch and "
                f"{s.derive_samples} to derive")
