"""DrNAS in the fair comparison (Chen et al., ICLR 2021, Sec. 2.2;
xiangning-chen/DrNAS@f2caa4dbdd96c1be29b56cb7ed47a74a184e6ef0, ``201-space/train_search.py`` with ``--method
dirichlet``, ``201-space/search_model.py``, ``architect.py``, ``utils.py``): DARTS whose mixing weights are
reparameterised draws from a Dirichlet with concentration ``elu(alpha) + 1``, a fresh draw for every weight step and
every alpha step, alpha by Adam as DARTS, regularised by weight decay (the release's default ``reg_type`` l2) or by
the KL divergence to the uniform Dirichlet (its setting ``reg``, ``SearchConfig.drnas_reg``); run by
``weight_sharing.differentiable.search``, algorithm ``drnas``. The final cell is the release's ``genotype``: per
edge the largest alpha, i.e. the largest concentration (``darts_alpha``'s selection; DARTS space: two inputs per
node by that weight). It overrides only what differs from ``darts.DartsAlpha``: the search it runs (its own
training, one job per seed). A step costs what DARTS's does: a Dirichlet draw still runs every candidate of every
edge.

Ours differs on purpose: the supernet size every method of the comparison shares (``WSSetup.sizes``) and its epochs
(the release's NB201 search runs 100); the NB201 algorithm is run on every space, so the DARTS-space search has
neither the release's progressive learning (partial channels 6 then 4, pruning to 4 ops after 25 epochs, alpha
frozen for the first 10 epochs of each stage) nor its LR 0.1 and 36 channels; gradient clipping of the weight step
covers the weights only (the release's ``clip_grad_norm_`` over ``model.parameters()`` also counts the gradient its
training loss leaves on alpha); the epoch's validation score runs on the Dirichlet mean, not a draw.
"""

from __future__ import annotations

from typing import Any, Literal

from nasaudit.weight_sharing.base import MethodSettings
from nasaudit.weight_sharing.methods.darts import DartsAlpha


class DrNASSettings(MethodSettings):
    """DrNAS: ``reg``, the release's ``reg_type``: ``l2`` (Adam weight decay on alpha, its default) or ``kl``
    (the KL divergence to the uniform Dirichlet in the alpha loss, Sec. 2.2)."""

    reg: Literal["l2", "kl"] = "l2"


class DrNAS(DartsAlpha):
    """DrNAS (module doc)."""

    name = "drnas"
    description = "DrNAS: Dirichlet-sampled mixing weights, final cell by concentration (Chen et al. 2021)"
    training = "drnas"
    algorithm = "drnas"
    settings_model = DrNASSettings
    settings: DrNASSettings

    def search_changes(self) -> dict[str, Any]:
        return {"drnas_reg": self.settings.reg}
