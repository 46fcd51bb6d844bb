"""ENAS in the fair comparison (Pham et al. 2018, Sec. 2.1-2.3;
melodyguan/enas@00787a5f5162814ce8f62a603b76738d240df8df, ``src/cifar10/micro_controller.py``; search-phase
paper Sec. 4.3, Table 4): SPOS's single-path supernet (``WSSetup.single_path_config``) trained on the paths an LSTM
controller samples (``nasaudit.search.controller``), the controller trained by REINFORCE on the supernet's
validation accuracy after each epoch (``controller_steps`` updates of ``controller_batch`` samples; ENAS Sec. 2.2
alternates the two), and the final cell the best by the supernet of ``derive_samples`` controller samples (ENAS
Sec. 2.3); the three are its settings (``ENASSettings``). Its counterpart without weight sharing is the same
controller on the truth (``reinforce``).

The controller is the space family's (``nasaudit.search.controller.make_controller``): on NB201 one op per edge; on
DARTS cells ENAS's micro-search controller (two inputs and their ops per node, normal then reduce cell; search-phase
paper Table 1); on NB101 cells the App. C.6 adaptation (LSTM of 64 units, temperature 5.0; an op per vertex and its
incoming edges; search-phase paper Table 3B). In a reduced space of the truth's architectures every controller
draws members only (its decisions masked to those some member continues with).

Ours differs on purpose: one supernet size for every method (``WSSetup.sizes``); REINFORCE's advantage is scaled by
a moving RMS (``Reinforce``), and ``controller_batch`` samples per update stand for the release's aggregation steps
(10 in App. C.6 and the micro-search script; the default 5 keeps the NB201 runs as they were).

Resumable: the supernet checkpoints after every epoch, and the controller's state (weights, Adam, REINFORCE's
baseline and scale) is kept beside it after each epoch's updates (``enas_<epoch>.pt``, written before that epoch's
checkpoint), so a killed seed resumes from its last checkpoint to the numbers of a run never killed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from nasaudit.weight_sharing.base import MethodSettings, Trained, WeightSharingMethod
from nasaudit.weight_sharing.methods.spos import EpochRanking

if TYPE_CHECKING:
    import numpy as np

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.search.controller import Policy, Reinforce
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.setup import WSSetup
    from nasaudit.weight_sharing.supernet.modules import Supernet
    from nasaudit.weight_sharing.supernet.training import SupernetEpoch


class _ControllerPaths:
    """ENAS's weight step: one path per step, sampled by the controller (no gradient to the controller)."""

    def __init__(self, supernet: Supernet, controller: Policy) -> None:
        self.supernet, self.controller = supernet, controller

    def step(self, rng: np.random.Generator) -> np.ndarray:
        import torch

        with torch.no_grad():
            sample = self.controller.sample(rng)
        return self.supernet.encode(sample.arch)[None]


class ENASSettings(MethodSettings):
    """ENAS: ``controller_steps`` controller updates after each epoch, ``controller_batch`` samples per update,
    ``derive_samples`` samples that derive the final cell."""

    controller_steps: int = Field(10, ge=1, le=100_000)
    controller_batch: int = Field(5, ge=1, le=10_000)
    derive_samples: int = Field(100, ge=1, le=1_000_000)


def _save_controller(folder: Path | None, epoch: int, learner: Reinforce) -> None:
    """Keep the controller and its learner after ``epoch`` (``enas_<epoch>.pt`` in ``folder``; nothing without)."""
    if folder is None:
        return
    import torch

    from nasaudit._atomic import atomic_open

    state = {"controller": learner.controller.state_dict(), "optimizer": learner.optimizer.state_dict(),
             "baseline": learner.baseline, "scale": learner.scale}
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_open(folder / f"enas_{epoch}.pt", "wb") as handle:
        torch.save(state, handle)


def _restore_controller(folder: Path | None, done: int, learner: Reinforce) -> None:
    """Back to the controller kept after epoch ``done`` of a resumed seed (nothing for a fresh one)."""
    if folder is None or done < 1:
        return
    from nasaudit.errors import DataError
    from nasaudit.train.checkpoint import read_state, restoring

    path = folder / f"enas_{done}.pt"
    if not path.is_file():
        raise DataError(f"{folder} holds a supernet checkpoint of epoch {done} without the controller of that epoch "
                        f"({path.name}); delete the folder to restart the seed")
    state = read_state(path, "ENAS controller state")
    with restoring(path, "ENAS controller state"):
        learner.controller.load_state_dict(state["controller"])
        learner.optimizer.load_state_dict(state["optimizer"])
        learner.baseline = None if state["baseline"] is None else float(state["baseline"])
        learner.scale = float(state["scale"])


class ENAS(WeightSharingMethod):
    """ENAS (module doc)."""

    name = "enas"
    description = "ENAS: LSTM controller by REINFORCE over shared weights (Pham et al. 2018)"
    families = ("nb201", "darts", "nb101")
    reduced_families = ("nb201", "darts", "nb101")
    without_sharing = "reinforce"
    settings_model = ENASSettings
    settings: ENASSettings

    def train(self, setup: WSSetup, space: SearchSpace, splits: DatasetSplits, seed: int,
              work_dir: Path | None) -> Trained:
        import numpy as np

        from nasaudit.search.controller import Reinforce, Sample, make_controller
        from nasaudit.train.checkpoint import checkpointed_epochs
        from nasaudit.weight_sharing.supernet.training import train_supernet

        config = setup.single_path_config(space)
        controller = make_controller(space, seed=seed)
        learner = Reinforce(controller)
        ranking = EpochRanking(setup, splits, work_dir)
        _restore_controller(work_dir, checkpointed_epochs(work_dir), learner)

        def sampler(supernet: Supernet) -> _ControllerPaths:
            ranking.supernet = supernet
            return _ControllerPaths(supernet, controller)

        def on_epoch_end(record: SupernetEpoch) -> None:
            rng = np.random.default_rng([seed, record.epoch, 1])
            evaluator = ranking.evaluator()
            for _ in range(self.settings.controller_steps):
                samples: list[Sample] = [controller.sample(rng) for _ in range(self.settings.controller_batch)]
                rewards = evaluator.evaluate([s.arch for s in samples])
                learner.update(samples, rewards.tolist())
            _save_controller(work_dir, record.epoch, learner)
            ranking.on_epoch_end(record)

        train_supernet(config, splits, seed=seed, checkpoint_dir=work_dir, device=setup.device,
                       on_epoch_end=on_epoch_end, sampler=sampler)
        return ranking.trained((controller, ranking))

    def derive(self, trained: Trained, setup: WSSetup, space: SearchSpace, splits: DatasetSplits,
               seed: int) -> str:
        import numpy as np
        import torch

        controller, ranking = trained.state
        rng = np.random.default_rng([seed, setup.epochs, 2])
        with torch.no_grad():
            candidates = list(dict.fromkeys(controller.sample(rng).arch for _ in range(self.settings.derive_samples)))
        scores = ranking.evaluator().evaluate(candidates)
        return space.format(candidates[int(np.argmax(scores))])

    def cost(self, setup: WSSetup) -> float:
        """Single-path weight steps, plus the controller's samples scored after each epoch and those that derive
        the final cell (the LSTM itself is not counted)."""
        from nasaudit.weight_sharing.cost import single_path_work

        work = single_path_work(setup)
        steps, batch, derive = (self.settings.controller_steps, self.settings.controller_batch,
                                self.settings.derive_samples)
        return work.training + (setup.epochs * steps * batch + derive) * work.query

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        per_epoch = self.settings.controller_steps * self.settings.controller_batch
        return (f"{super().describe_cost(setup, family)} + {per_epoch} controller samples per epoch and "
                f"{self.settings.derive_samples} to derive")
