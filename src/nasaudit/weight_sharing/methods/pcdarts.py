"""PC-DARTS in the fair comparison (Xu et al., ICLR 2020, Sec. 3.2-3.3;
yuhuixu1993/PC-DARTS@225925a390c26616331d5b83fddc9c34ffbb9887, ``model_search.py`` (``channel_shuffle``, ``MixedOp``,
``Cell``, ``Network.forward`` and ``genotype``) and ``train_search.py``): DARTS's first-order search on a partially
connected supernet, 1/k of each edge's channels through the candidates (setting ``k``, the release's 4), the rest
bypassed (max-pooled on a reduction edge) and channel-shuffled back in, and every edge's output scaled by its beta
normalised over the node's incoming edges (``weight_sharing.differentiable.partial``, algorithm ``pcdarts``; beta
trained beside alpha by the same Adam). The final cell is the release's ``genotype``: per edge the op of largest
alpha (``darts_alpha``'s selection; never ``none`` on the DARTS space) and per DARTS node the two inputs whose
strongest op's softmax weight times the edge's normalised beta is largest (``differentiable.selection``, ``alpha``).
It overrides only what differs from ``darts.DartsAlpha``: the search it runs (its own training, one job per seed).

Its counted cost is honest: DARTS's count (``cost.search_work``) of the multiply-adds of the supernet
``SearchConfig.build_supernet`` builds for ``pcdarts`` with the method's ``k`` (its ``search_config``), whose
candidates are convolutions at 1/k of the width (a 1x1 convolution costs 1/k^2 of DARTS's, a depthwise one
1/k); the bypass, max-pool and shuffle move data and add no multiply-adds; the cell preprocessing, stem and
classifier cost what DARTS's do.

Ours differs on purpose: the supernet size, batch and epochs every method of the comparison shares
(``WSSetup.sizes``; the release searches with batch 256, LR 0.1 and 50 epochs at 16 channels), DARTS's alpha LR
3e-4 (the release's 6e-4 goes with its batch 256) and alpha steps from the first epoch (the release takes none in its
first 15 epochs, which would leave a short comparison without any); the validation batch of an alpha step cycles
through the validation split in its own random order (the release draws ``next(iter(valid_queue))``, a fresh random
batch each step). The authors ship no NB201 version, nor does D-X-Y/AutoDL-Projects: on NB201 the same
partial mixed op sits on every edge (all of stride 1, so nothing is pooled) and node ``j``'s betas are normalised
over its ``j`` incoming edges; the final cell is the largest alpha per edge (beta scales a whole edge, so it cannot
change which op an edge keeps). With edge decisions (the ranking's fixed architectures), an edge left without
weight is switched off with its bypassed channels, so a DARTS-space architecture runs only its own edges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from nasaudit.limits import MAX_CHANNELS
from nasaudit.weight_sharing.base import MethodSettings
from nasaudit.weight_sharing.methods.darts import DartsAlpha

if TYPE_CHECKING:
    from nasaudit.weight_sharing.setup import WSSetup


class PCDARTSSettings(MethodSettings):
    """PC-DARTS: ``k``, the channel proportion 1/k of an edge's channels through its candidates (the release's 4;
    it must divide the supernet's width)."""

    k: int = Field(4, ge=1, le=MAX_CHANNELS)


class PCDARTS(DartsAlpha):
    """PC-DARTS (module doc)."""

    name = "pcdarts"
    description = ("PC-DARTS: partial channel connections and edge normalisation, final cell by alpha x beta "
                   "(Xu et al. 2020)")
    training = "pcdarts"
    algorithm = "pcdarts"
    settings_model = PCDARTSSettings
    settings: PCDARTSSettings

    def search_changes(self) -> dict[str, Any]:
        return {"pcdarts_k": self.settings.k}

    def describe_cost(self, setup: WSSetup, family: str) -> str:
        return f"{super().describe_cost(setup, family)}, 1/{self.settings.k} of each edge's channels through its ops"
