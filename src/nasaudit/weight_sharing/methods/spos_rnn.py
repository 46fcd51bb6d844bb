"""Uniform single-path weight sharing in the RNN spaces: the search-phase paper's "With WS" experiment (Sec. 4.3,
Fig. 4: "each mini-batch is given to an architecture uniformly sampled from the search space ... equivalent to
Single Path One Shot"), i.e. random search with weight sharing (Li & Talwalkar 2019) over the ENAS shared cell.

Every BPTT window of the training stream trains the shared cell (``nn.rnn_search.ENASSharedCell``: one matrix per
(node, predecessor), so a sampled path is exactly the stand-alone DARTS cell) on one cell drawn uniformly from the
space (or from the members of a reduced space), by ``text_search.weight_step``. A cell's shared-weight score (the
ranking) is ``-loss`` of its path on ``rank_images`` validation tokens; the final cell is the best, by that score,
of ``derive_samples`` cells drawn uniformly (the search policy of random search with weight sharing).

The search-phase paper follows Guo et al.'s SPOS (megvii-model/SinglePathOneShot@3a3ff1d, uniform path sampling per
batch) with the ENAS/NAO shared RNN; it released no code for this experiment. Ours differs on purpose: the shared
weights follow DARTS's search recipe (``text_search.search_protocol``), as every RNN method of a comparison does;
the final cell is chosen by random sampling, not SPOS's evolution.

Resumable as ``enas_rnn``: after every epoch the job's folder gets a checkpoint (``text_search.save_search_state``:
shared weights, optimiser, dropout-mask generators, the stream position and carried hidden state, the rank records).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from nasaudit.weight_sharing.base import MethodSettings, Trained, WeightSharingMethod

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.data.text import TextCorpus
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.setup import WSSetup


class SPOSRNNSettings(MethodSettings):
    """Uniform single-path sharing in the RNN spaces: training windows per epoch (``None``: one pass over the
    training stream) and the uniformly drawn cells that derive the final one."""

    windows_per_epoch: int | None = Field(None, ge=1, le=10_000_000)
    derive_samples: int = Field(100, ge=1, le=1_000_000)


class UniformCells:
    """A cell drawn uniformly from ``space`` per window (a reduced space draws among its members); nothing after
    an epoch (``text_search.CellSource``)."""

    def __init__(self, space: SearchSpace) -> None:
        from nasaudit.weight_sharing.methods.darts_rnn import reduced_members

        self.space, self.members = space, reduced_members(space)

    def draw(self, rng: np.random.Generator) -> Any:
        if self.members:
            return self.space.coerce(self.members[int(rng.integers(len(self.members)))])
        return self.space.sample(int(rng.integers(2**31 - 1)))

    def end_epoch(self, epoch: int, score: Callable[[list[Any], int], np.ndarray]) -> None:
        return None

    def restore(self, done: int) -> None:
        return None


class SPOSRNN(WeightSharingMethod):
    """Uniform single-path weight sharing in an RNN space (module doc)."""

    name = "spos_rnn"
    description = ("uniform single-path weight sharing in the recurrent cell space: a uniformly drawn cell per "
                   "window (search-phase paper Sec. 4.3; random search with weight sharing)")
    families: ClassVar[tuple[str, ...]] = ("rnn",)
    reduced_families: ClassVar[tuple[str, ...]] = ("rnn",)
    without_sharing = "random"
    settings_model = SPOSRNNSettings
    settings: SPOSRNNSettings

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits | TextCorpus, seed: int,
              work_dir: Path | None) -> Trained:
        from nasaudit.weight_sharing.text_search import train_single_path

        return train_single_path(self.name, setup, space, splits, seed, work_dir, self.settings,
                                 self.settings.windows_per_epoch, UniformCells(space))

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits | TextCorpus,
               seed: int) -> str:
        import numpy as np
        import torch

        from nasaudit.weight_sharing.text_search import cell_score

        model, rank, bptt = trained.state
        rng = np.random.default_rng([seed, setup.epochs, 2])
        uniform = UniformCells(space)
        candidates = list(dict.fromkeys(uniform.draw(rng) for _ in range(self.settings.derive_samples)))
        with torch.no_grad():
            scores = [cell_score(model, arch, rank, bptt) for arch in candidates]
        return space.format(candidates[int(np.argmax(scores))])

    def cost(self, setup: WSSetup) -> float:
        """Single-path weight steps (3 forward passes per token) and the derive samples scored on the ranking
        tokens."""
        from nasaudit.weight_sharing.cost import FORWARD_BACKWARD
        from nasaudit.weight_sharing.text_search import cell_space, search_protocol, token_macs

        corpus = setup.load_corpus()
        protocol = search_protocol(setup)
        macs = token_macs(setup, cell_space(setup.base_space()).n_nodes, corpus.ntoken)
        window = protocol.batch_size * protocol.bptt
        rows = corpus.train.numel() // protocol.batch_size
        per_epoch = self.settings.windows_per_epoch or max(1, rows // protocol.bptt)
        weights = setup.epochs * per_epoch * window * FORWARD_BACKWARD
        derive = self.settings.derive_samples * min(setup.rank_images, corpus.valid.numel())
        return float((weights + derive) * macs)

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        windows = self.settings.windows_per_epoch
        per_epoch = f"{windows} windows" if windows else "one pass over the training tokens"
        return (f"{super().describe_cost(setup, family)}, a uniformly drawn cell per window, {per_epoch} per epoch, "
                f"{self.settings.derive_samples} cells drawn to derive")
