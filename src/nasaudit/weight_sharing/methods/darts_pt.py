"""DARTS-PT in the fair comparison (Wang et al. 2021, Sec. 3-4;
ruocwang/darts-pt@c31e3766611ace330416b5dbbc89cbdc53f01972, ``nasbench201/projection.py``): first-order DARTS's
search (``darts.DartsAlpha``, the same training, so one job per seed serves both), the final cell by
perturbation-based selection: progressive projection with its setting ``tune_epochs``, the tuning epochs between
two decisions (``weight_sharing.differentiable.selection``). It overrides only its selection, its settings and its
counted work, which adds the selection's validation passes and tuning epochs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from nasaudit.weight_sharing.base import MethodSettings
from nasaudit.weight_sharing.methods.darts import DartsAlpha

if TYPE_CHECKING:
    from nasaudit.weight_sharing.setup import WSSetup


class PTSettings(MethodSettings):
    """Perturbation-based selection: ``tune_epochs`` tuning epochs between two decisions (DARTS-PT's
    ``proj_intv``; selection paper Sec. 5.1: 5)."""

    tune_epochs: int = Field(1, ge=0, le=1000)


class DartsPT(DartsAlpha):
    """DARTS-PT (module doc)."""

    name = "darts_pt"
    description = ("DARTS (first order), final cell by perturbation-based selection (DARTS-PT, Wang et al. "
                   "2021)")
    selection = "pt"
    settings_model = PTSettings
    settings: PTSettings

    def selection_options(self) -> dict[str, Any]:
        return {"tune_epochs": self.settings.tune_epochs}

    def cost(self, setup: WSSetup) -> float:
        from nasaudit.weight_sharing.cost import pt_work, search_work

        work = search_work(self, setup)
        return work.training + pt_work(work, self.settings.tune_epochs)

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        return (f"{super().describe_cost(setup, family)} + PT with {self.settings.tune_epochs} tuning epoch(s) "
                "per decision")
