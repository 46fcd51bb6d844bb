"""A weight-sharing method in one file: a random-sampling single-path supernet that derives the best of N sampled
paths by the supernet's accuracy (the random-search-with-weight-sharing baseline of Li & Talwalkar 2019, "Random
Search and Reproducibility for Neural Architecture Search", Sec. 3;
liamcli/randomNAS_release@0387aead661f0bdbcc461aa31d00dead44d415aa, ``searchers/random_weight_share.py``). Ours
differs on purpose: the single-path supernet every method of the comparison shares (theirs: the DARTS supernet),
and the N sampled paths scored on the ranking images in one step (theirs: 1,000 paths on one batch, the best 10
again on the whole validation split).

Importing this module registers the method ``random_supernet``; a spec's ``compare`` study then names it in
``strategies`` beside the shipped methods (``docs/plugins.md``). It trains the supernet every method of the
comparison shares the size of, with one uniformly sampled path per step (as SPOS, Guo et al. 2020), ranks the
comparison's architectures after the ranked epochs, and derives the best by the supernet of ``derive_samples``
paths drawn uniformly from the space searched (its one setting, ``RandomSupernetSettings``: a spec gives it under
``weight_sharing.methods.random_supernet``). Its cost is the single-path training plus those queries.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from nasaudit.weight_sharing.base import MethodSettings, Trained, WeightSharingMethod
from nasaudit.weight_sharing.methods.spos import EpochRanking

if TYPE_CHECKING:
    from nasaudit.data.splits import DatasetSplits
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.setup import WSSetup
    from nasaudit.weight_sharing.supernet.modules import Supernet
    from nasaudit.weight_sharing.supernet.sampling import PathSampler


class RandomSupernetSettings(MethodSettings):
    """``derive_samples`` random paths the supernet scores to derive the final cell."""

    derive_samples: int = Field(100, ge=1, le=1_000_000)


class RandomSupernet(WeightSharingMethod):
    """Uniform single-path supernet, then the best of ``derive_samples`` random paths by the supernet."""

    name = "random_supernet"
    description = "random search with weight sharing: uniform single-path supernet, best of N random paths"
    families = ("nb201", "darts", "nb101")
    reduced_families = ("nb201", "darts", "nb101")
    without_sharing = "random"
    settings_model = RandomSupernetSettings
    settings: RandomSupernetSettings

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits, seed: int,
              work_dir: Path | None) -> Trained:
        from nasaudit.weight_sharing.supernet.sampling import PathSampler
        from nasaudit.weight_sharing.supernet.training import train_supernet

        config = replace(setup.single_path_config(space), sampling="uniform")
        ranking = EpochRanking(setup, splits, work_dir)  # ranks the comparison's set after the ranked epochs

        def sampler(supernet: Supernet) -> PathSampler:
            ranking.supernet = supernet
            return PathSampler(supernet, "uniform", config.share_topology)

        train_supernet(config, splits, seed=seed, checkpoint_dir=work_dir, device=setup.device,
                       on_epoch_end=ranking.on_epoch_end, sampler=sampler)
        return ranking.trained()

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits,
               seed: int) -> str:
        import numpy as np

        rng = np.random.default_rng([seed, 3])  # its own stream, apart from the training's
        candidates = list(dict.fromkeys(space.sample_many(self.settings.derive_samples, rng)))
        scores = trained.state.evaluator().evaluate(candidates)
        return space.format(candidates[int(np.argmax(scores))])

    def cost(self, setup: WSSetup) -> float:
        from nasaudit.weight_sharing.cost import single_path_work

        work = single_path_work(setup)
        return work.training + self.settings.derive_samples * work.query

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        return f"{super().describe_cost(setup, family)} + {self.settings.derive_samples} supernet queries"
