"""Fixed-alpha search with perturbation-based selection in the fair comparison (Wang et al. 2021, selection paper
Sec. 4.2 and Fig. 8; ruocwang/darts-pt@c31e3766611ace330416b5dbbc89cbdc53f01972, ``nasbench201/projection.py``
for the projection, as ``weight_sharing.differentiable.selection`` follows it): alpha stays uniform (zero) and frozen,
only the supernet's weights train (``weight_sharing.differentiable.search``, algorithm ``fixed_alpha``), and the final
cell comes from PT alone (progressive projection, ``tune_epochs`` tuning epochs of weight steps between
decisions). It
overrides only what differs from ``darts_pt.DartsPT``: the search it runs (its own training, one job per seed) and
its counted work, which has no alpha steps, in the search nor in the tuning (``cost``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasaudit.weight_sharing.methods.darts_pt import DartsPT

if TYPE_CHECKING:
    from nasaudit.weight_sharing.setup import WSSetup


class DartsPTFixed(DartsPT):
    """Fixed alpha + PT (module doc)."""

    name = "darts_pt_fixed"
    description = "fixed uniform alpha (weights only), final cell by perturbation-based selection (Wang et al. 2021)"
    training = "darts_pt_fixed"
    algorithm = "fixed_alpha"
    trains_alpha = False

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        return f"{super().describe_cost(setup, family)}; alpha fixed, no alpha steps"
