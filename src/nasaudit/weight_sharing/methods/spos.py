"""SPOS with evolution in the fair comparison (Guo et al. 2020, Sec. 3-4;
megvii-model/SinglePathOneShot@36eed6cf083497ffa9cfe7b8da25bb0b6ba5a452; search-phase paper Sec. 4.3, Table 4):
a single-path supernet (``weight_sharing.supernet.training.train_supernet``), then regularised evolution
(``nasaudit.search.evolution``) with the supernet's validation accuracy on ``rank_images`` images as its
evaluator, its setting ``evolution_budget`` queries (``SposSettings``); its counterpart without weight sharing
is the same evolution on the truth (``evolution``).

The ranking of the setup's architectures after each ranked epoch (``EpochRanking``) is shared with ENAS and with
user methods that train a single-path supernet (``WSSetup.single_path_config``).
The training checkpoints after every epoch and the ranking of each finished epoch is kept beside it, so a
killed seed resumes.

Ours differs on purpose: one supernet size for every method of a comparison (``WSSetup.sizes``); on NB201 the
supernet trains with strictly fair path sampling (``sampling="fair"``, FairNAS), elsewhere uniform as SPOS;
evolution is the search-phase paper's regularised evolution, not SPOS's constrained genetic search.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from nasaudit.weight_sharing.base import MethodSettings, Trained, WeightSharingMethod, ranked_epochs

if TYPE_CHECKING:
    from nasaudit.data.splits import DatasetSplits
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.setup import WSSetup
    from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator
    from nasaudit.weight_sharing.supernet.modules import Supernet
    from nasaudit.weight_sharing.supernet.training import SupernetConfig, SupernetEpoch

_RANKING_FILE = "ranking.json"


class EpochRanking:
    """Holds the supernet a single-path training builds, ranks the setup's architectures after each ranked epoch
    (``on_epoch_end``, for ``train_supernet``) and keeps the rankings in ``folder`` (so a resumed run still has
    the epochs it finished before); ``evaluator`` scores architectures by the supernet."""

    def __init__(self, setup: WSSetup, splits: DatasetSplits, folder: Path | None) -> None:
        self.setup, self.splits, self.folder = setup, splits, folder
        self.epochs = ranked_epochs(setup.epochs)
        self.supernet: Supernet | None = None
        saved = folder / _RANKING_FILE if folder is not None else None
        self.rankings: dict[int, list[float]] = (
            {int(k): v for k, v in json.loads(saved.read_text()).items()} if saved is not None and saved.is_file()
            else {})

    def evaluator(self, images: int | None = None) -> SupernetEvaluator:
        """The supernet's validation accuracy on ``images`` (default: the setup's ``rank_images``) images."""
        from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator

        assert self.supernet is not None
        return SupernetEvaluator(self.supernet, self.splits, max_images=images or self.setup.rank_images)

    def on_epoch_end(self, record: SupernetEpoch) -> None:
        from nasaudit._atomic import atomic_write

        if record.epoch in self.epochs and self.setup.ranked:
            self.rankings[record.epoch] = self.evaluator().evaluate(self.setup.ranked).tolist()
            if self.folder is not None:
                atomic_write(self.folder / _RANKING_FILE, json.dumps(self.rankings))

    def trained(self, state: Any = None) -> Trained:
        """The rankings of the epochs done, with ``state`` for ``derive`` (default: this object)."""
        done = sorted(self.rankings)
        return Trained(done, [self.rankings[e] for e in done], self if state is None else state)


class SposSettings(MethodSettings):
    """SPOS + evolution: ``evolution_budget`` supernet queries of the evolution that picks the final cell."""

    evolution_budget: int = Field(100, ge=1, le=1_000_000)


class SposEvolution(WeightSharingMethod):
    """SPOS + regularised evolution (module doc)."""

    name = "spos_evolution"
    description = ("single-path one-shot supernet, then regularised evolution scored by the shared weights "
                   "(Guo et al. 2020)")
    families: ClassVar[tuple[str, ...]] = ("nb201", "darts", "nb101")
    reduced_families: ClassVar[tuple[str, ...]] = ("nb201", "darts", "nb101")
    training = "spos"
    without_sharing = "evolution"
    settings_model = SposSettings
    settings: SposSettings

    def supernet_config(self, setup: WSSetup, space: SearchSpace) -> SupernetConfig:
        """The single-path supernet this method trains: the setup's (``WSSetup.single_path_config``)."""
        return setup.single_path_config(space)

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits, seed: int,
              work_dir: Path | None) -> Trained:
        from nasaudit.weight_sharing.supernet.sampling import PathSampler
        from nasaudit.weight_sharing.supernet.training import train_supernet

        config = self.supernet_config(setup, space)
        ranking = EpochRanking(setup, splits, work_dir)

        def sampler(supernet: Supernet) -> PathSampler:
            ranking.supernet = supernet
            return PathSampler(supernet, config.sampling, config.share_topology)

        train_supernet(config, splits, seed=seed, checkpoint_dir=work_dir, device=setup.device,
                       on_epoch_end=ranking.on_epoch_end, sampler=sampler)
        return ranking.trained()

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits,
               seed: int) -> str:
        from nasaudit.search.evolution import RegularizedEvolution

        budget = min(self.settings.evolution_budget, space.size)
        found = RegularizedEvolution().run(space, trained.state.evaluator(), budget, seed)
        return space.format(found.final_arch)

    def cost(self, setup: WSSetup) -> float:
        """Single-path weight steps, then one pass over the ranking images per architecture evolution queries."""
        from nasaudit.weight_sharing.cost import single_path_work
        from nasaudit.weight_sharing.training import search_space

        work = single_path_work(setup, self.supernet_config(setup, search_space(setup)).sampling)
        return work.training + min(self.settings.evolution_budget, search_space(setup).size) * work.query

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        return f"{super().describe_cost(setup, family)} + {self.settings.evolution_budget} supernet queries"
