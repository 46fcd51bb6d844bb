"""DARTS with PT-Mag selection in the fair comparison (Wang et al. 2021, selection paper Sec. 6.2 and Fig. 6,
"DARTS+PT-Mag"; ruocwang/darts-pt@c31e3766611ace330416b5dbbc89cbdc53f01972, whose progressive projection
``nasbench201/projection.py`` it keeps; the release has no code for PT-Mag): the DARTS search of ``darts.py`` and
PT's progressive tuning, but each edge visited keeps its op of largest alpha instead of the op whose removal
hurts most (``weight_sharing.differentiable.selection``, ``pt_mag``). It names DARTS's training, so one job per seed
searches once for ``darts_alpha``, ``darts_pt`` and this; it overrides only its selection and its counted work,
which has no validation pass per candidate of an operation decision.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nasaudit.weight_sharing.base import WeightSharingMethod
from nasaudit.weight_sharing.methods.darts_pt import DartsPT

if TYPE_CHECKING:
    from nasaudit.weight_sharing.setup import WSSetup


class DartsPTMag(DartsPT):
    """DARTS + PT-Mag (module doc)."""

    name = "darts_pt_mag"
    description = ("DARTS (first order), final cell by PT's progressive tuning choosing ops by alpha magnitude "
                   "(PT-Mag, Wang et al. 2021)")
    selection = "pt_mag"

    def cost(self, setup: WSSetup) -> float:
        from nasaudit.weight_sharing.cost import pt_work, search_work

        work = search_work(self, setup)
        return work.training + pt_work(work, self.settings.tune_epochs, magnitude=True)

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        return (f"{WeightSharingMethod.describe_cost(self, setup, family)} + PT-Mag with "
                f"{self.settings.tune_epochs} tuning epoch(s) per decision")
