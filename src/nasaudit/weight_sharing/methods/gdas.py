"""GDAS in the fair comparison (Dong & Yang 2019; D-X-Y/AutoDL-Projects@f46486e21b71ae6459a700be720d7648b5429569,
``exps/NAS-Bench-201-algos/GDAS.py``): DARTS's method with another search, one hard Gumbel-softmax path per step
(``weight_sharing.differentiable.search``, algorithm ``gdas``), and the final cell by alpha as DARTS. It overrides only
what differs from ``darts.DartsAlpha``: the search it runs (its own training, one job per seed) and the counted
multiply-adds of a step, one sampled candidate per edge instead of all of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasaudit.weight_sharing.methods.darts import DartsAlpha

if TYPE_CHECKING:
    import torch

    from nasaudit.data.splits import DatasetSplits
    from nasaudit.weight_sharing.differentiable.alpha import ArchParameters
    from nasaudit.weight_sharing.differentiable.config import SearchConfig
    from nasaudit.weight_sharing.supernet.modules import Supernet


class GDAS(DartsAlpha):
    """GDAS (module doc)."""

    name = "gdas"
    description = "GDAS: Gumbel-softmax sampled paths, final cell by alpha (Dong & Yang 2019)"
    training = "gdas"
    algorithm = "gdas"

    def step_macs(self, config: SearchConfig, supernet: Supernet, alphas: ArchParameters,
                  weights: dict[str, torch.Tensor], mixed: int, splits: DatasetSplits) -> float:
        """The mean multiply-adds per image over ``cost.PATH_SAMPLES`` seeded draws of one candidate per edge."""
        import numpy as np

        from nasaudit.weight_sharing.cost import PATH_SAMPLES, supernet_macs

        rng = np.random.default_rng(0)
        draws = [{kind: [int(rng.integers(len(ops))) for ops in alphas.candidates[kind]] for kind in alphas.kinds}
                 for _ in range(PATH_SAMPLES)]
        return float(np.mean([supernet_macs(supernet, alphas.forward_arg(weights, d), splits) for d in draws]))
