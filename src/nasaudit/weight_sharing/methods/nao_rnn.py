"""NAO with weight sharing in the RNN spaces (Luo et al., NeurIPS 2018, Sec. 3-4;
renqianluo/NAO@db751a0fde0890b501efab64527e44d7906c94d5, ``NAO-WS/rnn/train_search.py``, ``controller.py``,
``encoder/encoder.py``, ``utils.py``; search-phase paper Sec. 4.1-4.2, App. C.3, C.6, Table 1 and Table 3A's NAO
rows).

The release's loop (``train_search.sh``'s values): a pool of ``controller_num_seed_arch`` (1000) random cells; every
training batch trains a cell drawn uniformly from the pool on the shared weights (1000 epochs); after every 200
epochs each pool cell is scored by its validation perplexity with the shared weights and the pool sorted, best
first; except after the last epoch, the encoder-predictor-decoder trains on (tokens, min-max normalised perplexity)
with ``0.8 * MSE + 0.2 * NLL`` (1000 epochs, Adam 1e-3, batch 100, clip 5; token embeddings of 48 read in pairs by
an encoder LSTM of 96, 4 MLP layers of 200 without dropout, decoder LSTM of 96); the top 100 move along the
predictor with step sizes 1, 2, ..., ``max_step_size`` (30) until ``max_new_archs`` (300) cells not in the pool
are decoded, 50 uniformly drawn cells join them, and they replace the pool's worst. The final cell is the top-1
of the last ranking (App. C.3). Tokens: ``predecessor, activation`` per node
(``nasaudit.search._nao_tokens.RNNTokens``).

Ours keeps the pool and the renewal of image NAO (``methods/nao.py``'s ``NAOPool``, with ``random_archs``
uniformly drawn cells per renewal) with the RNN release's EPD (``nao_model``'s module doc: embedding dropout 0.1,
dot-product attention, a U(-0.04, 0.04) predictor; on identical weights its scores, teacher-forced log-probabilities,
moved embeddings and decoded cells equal the release's ``Controller`` on its 11-node cell), whose Adam is made once
and kept across rounds as the release's (image NAO's is fresh each round, as NAO_V1's), and trains the shared
weights as ``spos_rnn`` does (``text_search.train_single_path``: the ENAS shared cell, DARTS's search recipe, as
every RNN method of a comparison), drawing each window's cell from the pool. The search-phase paper's
reduced-space settings (App. C.6: 20% of the space as the pool, the EPD every 50 epochs on the top 4, at most 3 new
cells) are ``seed_archs``, ``evaluations``, ``top_archs`` and ``new_archs``.

Ours differs on purpose: scores are ``-loss`` (the perplexity order reversed), and the predictor's targets are one
minus the release's (min-max normalised perplexity, ``NAOPool.targets``), moved up the predictor where the release
moves its targets down (the same direction); the pool is scored on the first ``eval_images`` validation tokens, not
the whole validation set; the pool is drawn without repeats and deduplicated by the space's canonical key; the
decoder writes only tokens the space allows; the pool keeps its size (``random_archs`` is capped so that its top-1
stays); the cell is the DARTS 8-node one (the search-phase paper's adaptation) rather than the release's 11-node
ENAS one.

Resumable: the search checkpoints after every epoch (``text_search.save_search_state``) and the pool, its scores,
the EPD and its Adam after each evaluation (``nao_<epoch>.pt``, written before that epoch's checkpoint), so a killed
seed resumes to the numbers of a run never killed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from nasaudit.weight_sharing.base import Trained, WeightSharingMethod
from nasaudit.weight_sharing.methods.nao import NAOPool, NAOSettings, evaluation_epochs

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.data.text import TextCorpus
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.setup import WSSetup


class NAORNNSettings(NAOSettings):
    """NAO-WS in the RNN spaces (module doc; image NAO's settings, ``eval_images`` counting validation tokens):
    training windows per epoch (``None``: one pass over the training stream) and the uniformly drawn cells that join
    the pool at each renewal (the release: 50 to a pool of 1000)."""

    windows_per_epoch: int | None = Field(None, ge=1, le=10_000_000)
    random_archs: int = Field(5, ge=0, le=100_000)


class PoolCells:
    """Each window's cell drawn uniformly from NAO's pool; at the evaluation epochs the pool is scored, sorted and
    renewed (``text_search.CellSource``)."""

    def __init__(self, pool: NAOPool, settings: NAORNNSettings, epochs: int) -> None:
        self.pool, self.settings, self.epochs = pool, settings, epochs
        self.points = set(evaluation_epochs(epochs, settings.evaluations))

    def draw(self, rng: np.random.Generator) -> Any:
        cells = self.pool.pool
        return cells[int(rng.integers(len(cells)))]

    def end_epoch(self, epoch: int, score: Callable[[list[Any], int], np.ndarray]) -> None:
        if epoch in self.points:
            self.pool.end_round(epoch, score(self.pool.pool, self.settings.eval_images), last=epoch == self.epochs)

    def restore(self, done: int) -> None:
        self.pool.restore(done)


class NAORNN(WeightSharingMethod):
    """NAO-WS in an RNN space (module doc)."""

    name = "nao_rnn"
    description = ("NAO in the recurrent cell space: encoder-predictor-decoder moving pool cells up a learned "
                   "predictor, scored by shared weights (Luo et al. 2018)")
    families: ClassVar[tuple[str, ...]] = ("rnn",)
    reduced_families: ClassVar[tuple[str, ...]] = ("rnn",)
    settings_model = NAORNNSettings
    settings: NAORNNSettings

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits | TextCorpus, seed: int,
              work_dir: Path | None) -> Trained:
        from nasaudit.weight_sharing.text_search import train_single_path

        pool = NAOPool(self.settings, space, seed, work_dir, random_archs=self.settings.random_archs)
        trained = train_single_path(self.name, setup, space, splits, seed, work_dir, self.settings,
                                    self.settings.windows_per_epoch, PoolCells(pool, self.settings, setup.epochs))
        trained.state = pool
        return trained

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits | TextCorpus,
               seed: int) -> str:
        pool: NAOPool = trained.state
        return space.format(pool.pool[0])  # the top-1 of the last ranking (module doc)

    def cost(self, setup: WSSetup) -> float:
        """Single-path weight steps (3 forward passes per token) and every pool cell scored on ``eval_images``
        validation tokens at each evaluation (the EPD itself is not counted)."""
        from nasaudit.weight_sharing.cost import FORWARD_BACKWARD
        from nasaudit.weight_sharing.text_search import cell_space, search_protocol, token_macs
        from nasaudit.weight_sharing.training import search_space

        corpus = setup.load_corpus()
        protocol = search_protocol(setup)
        macs = token_macs(setup, cell_space(setup.base_space()).n_nodes, corpus.ntoken)
        rows = corpus.train.numel() // protocol.batch_size
        per_epoch = self.settings.windows_per_epoch or max(1, rows // protocol.bptt)
        weights = setup.epochs * per_epoch * protocol.batch_size * protocol.bptt * FORWARD_BACKWARD
        pool = min(self.settings.seed_archs, search_space(setup).size)
        rounds = len(evaluation_epochs(setup.epochs, self.settings.evaluations))
        scoring = rounds * pool * min(self.settings.eval_images, corpus.valid.numel())
        return float((weights + scoring) * macs)

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        rounds = len(evaluation_epochs(setup.epochs, self.settings.evaluations))
        windows = self.settings.windows_per_epoch
        per_epoch = f"{windows} windows" if windows else "one pass over the training tokens"
        return (f"{super().describe_cost(setup, family)}, a pool cell per window, {per_epoch} per epoch, a pool of "
                f"{self.settings.seed_archs} scored on {self.settings.eval_images} tokens {rounds} time(s)")
