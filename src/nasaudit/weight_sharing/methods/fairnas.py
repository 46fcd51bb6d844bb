"""FairNAS in the fair comparison (Chu et al., ICCV 2021, "FairNAS: Rethinking Evaluation Fairness of Weight
Sharing Neural Architecture Search", strict fairness, Algorithm 1; search-phase paper Sec. 4.3, Table 4): a single-path
supernet trained under strict fairness, then regularised evolution with the supernet's validation accuracy on
``rank_images`` images as its evaluator, its setting ``evolution_budget`` queries (``FairNASSettings``); its
counterpart without weight sharing is the same evolution on the truth (``evolution``).

Strict fairness (Algorithm 1): every step draws an independent random permutation of the ``m`` candidate ops of
every choice block (an NB201 edge), and the ``m`` paths it defines, the ``k``-th taking the ``k``-th op of every
permutation, are trained on the same batch: forward and backward each, the gradients summed, then one optimiser
update. So over one step every op of every choice block is trained exactly once. This is the existing
``sampling="fair"`` of ``weight_sharing.supernet.sampling.PathSampler`` run by ``supernet.training.PathStep``
(one ``ctx.backward`` per path, the loop's single ``optimizer.step``), so FairNAS reuses it (``STRICT_FAIR``)
and trains with it on every space it accepts, whatever the setup's default sampling. A choice block is an edge of
the one cell every cell shares (``share_topology``, the comparison's default); without sharing, each cell's edge.
Counted cost (``spos_evolution``'s ``cost`` on this supernet): ``single_path_work(setup, "fair")``, i.e. ``m``
forward/backward passes per step, plus one pass over the ranking images per architecture the evolution queries.

Release followed: xiaomi-automl/FairNAS@fa0d393ee8e1dc7ff290119bbf8df1513eee9a2c ships only the searched
FairNAS-A/B/C models and their evaluation (``models/FairNAS_{A,B,C}.py``, ``verify.py``, ``verify_se.py``,
``transfer_verify.py``), not the supernet training nor the search; the training rule here follows the paper's
Algorithm 1 (gradients accumulated as a sum over the ``m`` models, one update).

Ours differs on purpose: the final architecture is chosen by the same regularised evolution as ``spos_evolution``
with the same ``evolution_budget``, not the paper's multi-objective NSGA-II search (accuracy against model cost),
because the fair comparison ranks methods by one objective, accuracy, at one budget (search-phase paper Sec. 3.1,
4.3), so only the supernet training differs between the two; one supernet size, protocol and epochs for every
method (``WSSetup.sizes``) instead of the paper's MobileNetV2-like ImageNet supernet. Strict fairness needs every
op on every edge, so FairNAS is defined on NB201-like spaces only (DARTS cells choose their inputs, NB101 cells
their graph). Note: the comparison's ``spos_evolution`` already trains with strictly fair sampling on NB201
(``WSSetup.single_path_config``), so there the two train the same supernet for a seed; FairNAS keeps its rule
when that default changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from nasaudit.weight_sharing.base import WeightSharingMethod
from nasaudit.weight_sharing.methods.spos import SposEvolution, SposSettings

if TYPE_CHECKING:
    from nasaudit.spaces.base import SearchSpace
    from nasaudit.weight_sharing.setup import WSSetup
    from nasaudit.weight_sharing.supernet.modules import Supernet
    from nasaudit.weight_sharing.supernet.sampling import PathSampler
    from nasaudit.weight_sharing.supernet.training import SupernetConfig

#: the path sampling of FairNAS's strict fairness (``supernet.sampling``, Algorithm 1)
STRICT_FAIR = "fair"


class FairNASSettings(SposSettings):
    """FairNAS + evolution: ``evolution_budget`` supernet queries of the evolution that picks the final cell (the
    same setting and default as ``spos_evolution``'s)."""


def supernet_config(setup: WSSetup, space: SearchSpace) -> SupernetConfig:
    """The setup's single-path supernet (``WSSetup.single_path_config``) trained with strictly fair sampling."""
    return replace(setup.single_path_config(space), sampling=STRICT_FAIR)


def fair_sampler(supernet: Supernet, config: SupernetConfig) -> PathSampler:
    """The paths of a FairNAS step on ``supernet``: ``m`` paths, every op of every choice block once (module doc)."""
    from nasaudit.weight_sharing.supernet.sampling import PathSampler

    return PathSampler(supernet, STRICT_FAIR, config.share_topology)


class FairNAS(SposEvolution):
    """FairNAS + regularised evolution (module doc): ``spos_evolution`` with the supernet trained under strict
    fairness whatever the setup's default sampling."""

    name = "fairnas"
    description = ("FairNAS: single-path supernet under strict fairness (every op of every edge once per step, "
                   "one update), then regularised evolution scored by the shared weights (Chu et al. 2021)")
    families = ("nb201",)
    reduced_families = ("nb201",)
    training = "fairnas"
    settings_model = FairNASSettings
    settings: FairNASSettings

    def supernet_config(self, setup: WSSetup, space: SearchSpace) -> SupernetConfig:
        return supernet_config(setup, space)

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        from nasaudit.spaces.registry import get_space

        paths = len(supernet_config(setup, get_space(setup.space)).make_space().ops)  # m: one per op
        return (f"{WeightSharingMethod.describe_cost(self, setup, family)}, {paths} paths per step + "
                f"{self.settings.evolution_budget} supernet queries")
