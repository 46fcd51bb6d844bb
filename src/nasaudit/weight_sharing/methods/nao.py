"""NAO with weight sharing in the fair comparison (Luo et al., NeurIPS 2018, "Neural Architecture Optimization",
Sec. 3, NAO-WS in Sec. 4.1; renqianluo/NAO_pytorch@418ff717e6a6e9b22ec163fd4d21f2f8013f03c5, ``NAO_V1/train_search.py``
and ``train_search_NAO-WS_cifar10.sh``; search-phase paper Sec. 4.2-4.3, App. C.3, C.6, Tables 1 and 3B).

The release's loop: a pool of ``seed_archs`` random architectures; the single-path supernet
(``WSSetup.single_path_config``) trains every step on one architecture drawn uniformly from the pool; at
``evaluations`` evenly spread epochs (the release: every 30 of 150) every pool architecture is scored with the shared
weights on ``eval_images`` validation images (the release: one batch of 500) and the pool sorted; except after the
last epoch, the encoder-predictor-decoder (``nasaudit.search.nao_model``; it persists across rounds, a fresh Adam
each) trains ``epd_epochs`` on (tokens, min-max normalised accuracy) with the loss ``trade_off * MSE + (1 -
trade_off) * NLL`` (0.8); then the ``top_archs`` best move up the predictor with step sizes 1, 2, ...,
``max_step_size`` until ``new_archs`` architectures not in the pool are decoded, which replace the pool's worst.
The final cell is the top-1 of the last ranking of the pool by the shared weights (search-phase paper App. C.3:
"the top-1 in the NAO ranking"). On DARTS cells the EPD's training data are augmented by swapping a node's two
inputs (the release's ``swap``). Tokens per family: ``nasaudit.search._nao_tokens`` (NB201 ops; DARTS input/op
pairs; NB101 ops and edge bits, the search-phase paper's App. C.6 adaptation, there with an encoder of ``12 x
vertices - 12`` units, which ours uses on NB101; RNN cells, for ``nao_rnn``, as ``predecessor, activation``
pairs).

Defaults are CPU sized; the release's (paper) values: ``seed_archs`` 600, ``evaluations`` 5 (150 epochs, every
30), ``eval_images`` 500, ``top_archs`` 100, ``new_archs`` 300, ``max_step_size`` 50, ``epd_epochs`` 1000 (batch
100, Adam 1e-3, weight decay 1e-4, clipping 5), ``trade_off`` 0.8; model: hidden 96 (2 x 48 embeddings), 3 MLP
layers of 200, dropout 0.1 (``EPDSizes``). The search-phase paper's reduced RNN space used 20% of the space as the
pool, top-4 and at most 3 new architectures per round (App. C.6).

Resumable: the supernet checkpoints after every epoch, and each evaluation's pool, scores and EPD weights are kept
beside it (``nao_<epoch>.pt``, written before that epoch's checkpoint), so a killed seed resumes from the last
checkpoint with the NAO state of that point and ends as a run never killed.

Ours differs on purpose: one supernet size, protocol and evaluator for every method (``WSSetup.sizes``;
``SupernetEvaluator`` scores in eval mode with the running batch-norm statistics where the release uses batch
statistics, ``bn_train=True``, and on one fixed seeded set of ``eval_images`` images where the release draws a
batch per architecture); the pool is drawn without repeats and deduplicated by the space's canonical key, as
are the new architectures; the decoder writes only tokens the space allows there (``_nao_tokens``); the release's
final re-ranking of the top 5 by a short stand-alone training is not done (a different budget from the others'),
nor its drop-path and auxiliary head. An all-equal pool (min = max accuracy) trains on targets of 0.5.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from nasaudit.weight_sharing.base import MethodSettings, Trained, WeightSharingMethod
from nasaudit.weight_sharing.methods.spos import EpochRanking

if TYPE_CHECKING:
    import numpy as np

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.search._nao_tokens import TokenCodec
    from nasaudit.search.nao_model import EPD
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.setup import WSSetup
    from nasaudit.weight_sharing.supernet.modules import Supernet
    from nasaudit.weight_sharing.supernet.training import SupernetEpoch

_STATE = re.compile(r"nao_(\d+)\.pt")
#: draws per wanted pool member before a small space's pool stops growing
_DRAWS_PER_MEMBER = 50


class NAOSettings(MethodSettings):
    """NAO-WS (module doc: the release's values)."""

    seed_archs: int = Field(100, ge=2, le=100_000)
    evaluations: int = Field(5, ge=1, le=1_000)
    eval_images: int = Field(500, ge=1, le=1_000_000)
    top_archs: int = Field(30, ge=1, le=100_000)
    new_archs: int = Field(30, ge=1, le=100_000)
    max_step_size: int = Field(50, ge=1, le=10_000)
    epd_epochs: int = Field(100, ge=1, le=100_000)
    trade_off: float = Field(0.8, ge=0.0, le=1.0)


def evaluation_epochs(epochs: int, evaluations: int) -> list[int]:
    """The epochs after which the pool is scored: ``evaluations`` evenly spaced, the last epoch always (the
    release's every 30 of 150 epochs is ``evaluation_epochs(150, 5)``)."""
    return sorted({max(1, epochs * k // min(evaluations, epochs)) for k in range(1, min(evaluations, epochs) + 1)})


class _PoolPaths:
    """NAO-WS's weight step: one architecture drawn uniformly from the current pool."""

    def __init__(self, supernet: Supernet, search: NAOPool) -> None:
        self.supernet, self.search = supernet, search

    def step(self, rng: np.random.Generator) -> np.ndarray:
        pool = self.search.pool
        return self.supernet.encode(pool[int(rng.integers(len(pool)))])[None]


class NAOPool:
    """The pool, its last scores and the EPD of one seed (module doc), kept in ``folder`` after each evaluation;
    ``nao_rnn`` keeps its pool with it too. ``random_archs`` new uniformly drawn architectures join the pool at each
    renewal (the RNN release's 50)."""

    def __init__(self, settings: NAOSettings, space: SearchSpace, seed: int, folder: Path | None,
                 random_archs: int = 0) -> None:
        import numpy as np
        import torch

        from nasaudit.search._nao_tokens import NB101Tokens, RNNTokens, make_codec
        from nasaudit.search.nao_model import EPD, EPDSizes, EPDTraining, epd_optimizer

        self.settings, self.space, self.seed, self.folder = settings, space, seed, folder
        self.random_archs = random_archs
        self.codec: TokenCodec = make_codec(space)
        #: RNN cells follow the RNN release (NAO-WS/rnn), the others NAO_V1: its EPD, Adam and targets
        self.rnn_release = isinstance(self.codec, RNNTokens)
        if self.rnn_release:  # the RNN release's train_search.sh (nao_model's module doc)
            sizes = EPDSizes(self.codec.vocab, self.codec.length, self.codec.group, mlp_layers=4, mlp_dropout=0.0,
                             embedding_dropout=0.1, attention="dot", init_range=0.04)
        else:
            hidden = 12 * self.codec.n - 12 if isinstance(self.codec, NB101Tokens) else 96  # App. C.6 on NB101
            sizes = EPDSizes(self.codec.vocab, self.codec.length, self.codec.group, hidden=hidden)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.model: EPD = EPD(sizes)
        self.model.eval()
        self.training = EPDTraining(epochs=settings.epd_epochs, trade_off=settings.trade_off)
        #: the RNN release makes its Adam once, before its loop; NAO_V1 makes one per round (``train_epd``)
        self.optimizer = epd_optimizer(self.model, self.training) if self.rnn_release else None
        self.pool: list[Any] = self._initial_pool(np.random.default_rng([seed, 17]))
        self.scores: list[float] = []

    def _initial_pool(self, rng: np.random.Generator) -> list[Any]:
        wanted = min(self.settings.seed_archs, self.space.size)
        pool: dict[str, Any] = {}
        for _ in range(_DRAWS_PER_MEMBER * wanted):
            arch = self.space.sample(rng)
            pool.setdefault(self.space.canonical(arch), arch)
            if len(pool) == wanted:
                break
        return list(pool.values())

    # -------------------------------------------------------------------------------------------- one round
    def evaluate(self, scores: np.ndarray) -> None:
        """Sort the pool by its ``scores`` with the shared weights, best first (release ``child_valid``)."""
        import numpy as np

        order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
        self.pool = [self.pool[i] for i in order]
        self.scores = [float(scores[i]) for i in order]

    def end_round(self, epoch: int, scores: np.ndarray, last: bool) -> None:
        """One evaluation of the loop (module doc): sort the pool by ``scores``, renew it unless this is the ``last``
        epoch, keep the state of ``epoch``."""
        self.evaluate(scores)
        if not last:
            self.renew(epoch)
        self.save(epoch)

    def targets(self) -> list[float]:
        """The EPD's targets of the sorted pool, higher better: min-max normalised scores (NAO_V1: accuracy), or
        for RNN cells (scores ``-loss``) one minus the RNN release's min-max normalised perplexity; 0.5 where all
        are equal."""
        import numpy as np

        scores = np.asarray(self.scores, dtype=np.float64)
        if self.rnn_release:
            scores = -np.exp(np.minimum(-scores, 700.0))  # minus the perplexity, kept finite
        low, high = float(scores.min()), float(scores.max())
        return [(float(s) - low) / (high - low) if high > low else 0.5 for s in scores]

    def renew(self, epoch: int) -> int:
        """Train the EPD on the sorted pool and replace the worst by new architectures; how many were new."""
        import numpy as np
        import torch

        from nasaudit.search.nao_model import train_epd

        sequences = [self.codec.encode(a) for a in self.pool]
        targets = self.targets()
        codec = self.codec

        def augment(tokens: tuple[int, ...], draw: int) -> tuple[int, ...]:
            return codec.augment(tokens, np.random.default_rng(draw))

        train_epd(self.model, sequences, targets, self.training,
                  seed=int(np.random.default_rng([self.seed, epoch, 3]).integers(2**31)), augment=augment,
                  optimizer=self.optimizer)
        seen = {self.space.canonical(a) for a in self.pool}
        top = torch.tensor(sequences[:self.settings.top_archs], dtype=torch.long)
        wanted = min(self.settings.new_archs, len(self.pool) - 1)
        new: list[Any] = []
        for eta in range(1, self.settings.max_step_size + 1 if wanted > 0 else 1):
            for tokens in self.model.improve(top, float(eta), self.codec.allowed):
                arch = self.codec.decode(tokens)
                if arch is not None and (key := self.space.canonical(arch)) not in seen:
                    seen.add(key)
                    new.append(arch)
            if len(new) >= wanted:
                break
        new = new[:wanted]
        drawn = self._random(seen, min(self.random_archs, len(self.pool) - len(new) - 1),
                             np.random.default_rng([self.seed, epoch, 5]))
        self.pool = self.pool[:len(self.pool) - len(new) - len(drawn)] + new + drawn
        self.scores = []
        return len(new)

    def _random(self, seen: set[str], wanted: int, rng: np.random.Generator) -> list[Any]:
        """Up to ``wanted`` uniformly drawn architectures none of whose classes is in ``seen`` (added to it)."""
        drawn: list[Any] = []
        for _ in range(_DRAWS_PER_MEMBER * max(wanted, 0)):
            if len(drawn) >= wanted:
                break
            arch = self.space.sample(rng)
            if (key := self.space.canonical(arch)) not in seen:
                seen.add(key)
                drawn.append(arch)
        return drawn

    # ----------------------------------------------------------------------------------------- keeping it
    def save(self, epoch: int) -> None:
        if self.folder is None:
            return
        import torch

        from nasaudit._atomic import atomic_open

        state = {"pool": [self.space.format(a) for a in self.pool], "scores": list(self.scores),
                 "model": self.model.state_dict(),
                 **({"optimizer": self.optimizer.state_dict()} if self.optimizer is not None else {})}
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_open(self.folder / f"nao_{epoch}.pt", "wb") as handle:
            torch.save(state, handle)

    def restore(self, done: int) -> None:
        """The state kept after the last evaluation at or before epoch ``done`` (the supernet's checkpoint's), if
        any."""
        from nasaudit.train.checkpoint import read_state, restoring

        if self.folder is None or done < 1 or not self.folder.is_dir():
            return
        kept = [int(m.group(1)) for p in self.folder.iterdir() if (m := _STATE.fullmatch(p.name))]
        usable = [e for e in kept if e <= done]
        if not usable:
            return
        path = self.folder / f"nao_{max(usable)}.pt"
        state = read_state(path, "NAO state")
        with restoring(path, "NAO state"):
            self.pool = [self.space.coerce(a) for a in state["pool"]]
            self.scores = [float(s) for s in state["scores"]]
            self.model.load_state_dict(state["model"])
            if self.optimizer is not None:
                self.optimizer.load_state_dict(state["optimizer"])


class NAO(WeightSharingMethod):
    """NAO-WS (module doc)."""

    name = "nao"
    description = ("NAO: encoder-predictor-decoder moving pool architectures up a learned predictor, scored by "
                   "shared weights (Luo et al. 2018)")
    families = ("nb201", "darts", "nb101")
    reduced_families = ("nb201", "darts", "nb101")
    settings_model = NAOSettings
    settings: NAOSettings

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits, seed: int,
              work_dir: Path | None) -> Trained:
        from nasaudit.train.checkpoint import checkpointed_epochs
        from nasaudit.weight_sharing.supernet.training import train_supernet

        config = setup.single_path_config(space)
        ranking = EpochRanking(setup, splits, work_dir)
        search = NAOPool(self.settings, space, seed, work_dir)
        search.restore(checkpointed_epochs(work_dir))
        points = evaluation_epochs(setup.epochs, self.settings.evaluations)

        def sampler(supernet: Supernet) -> _PoolPaths:
            ranking.supernet = supernet
            return _PoolPaths(supernet, search)

        def on_epoch_end(record: SupernetEpoch) -> None:
            if record.epoch in points:
                scores = ranking.evaluator(self.settings.eval_images).evaluate(search.pool)
                search.end_round(record.epoch, scores, last=record.epoch == setup.epochs)
            ranking.on_epoch_end(record)

        train_supernet(config, splits, seed=seed, checkpoint_dir=work_dir, device=setup.device,
                       on_epoch_end=on_epoch_end, sampler=sampler)
        return ranking.trained(search)

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits,
               seed: int) -> str:
        search: NAOPool = trained.state
        return space.format(search.pool[0])  # the top-1 of the last ranking (module doc)

    def cost(self, setup: WSSetup) -> float:
        """Single-path weight steps, plus every pool architecture scored on ``eval_images`` images at each
        evaluation (the EPD itself is not counted)."""
        from nasaudit.data.loading import load_dataset
        from nasaudit.weight_sharing.cost import single_path_work
        from nasaudit.weight_sharing.training import search_space

        work = single_path_work(setup)
        n_val = len(load_dataset(setup.dataset, setup.data_root, val_fraction=setup.val_fraction, seed=0).val)
        per_arch = work.query * min(self.settings.eval_images, n_val) / min(setup.rank_images, n_val)
        pool = min(self.settings.seed_archs, search_space(setup).size)
        return work.training + len(evaluation_epochs(setup.epochs, self.settings.evaluations)) * pool * per_arch

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        rounds = len(evaluation_epochs(setup.epochs, self.settings.evaluations))
        return (f"{super().describe_cost(setup, family)} + a pool of {self.settings.seed_archs} scored on "
                f"{self.settings.eval_images} images {rounds} time(s)")
