"""SDARTS-RS in the fair comparison (Chen & Hsieh 2020, Sec. 3.1;
xiangning-chen/SmoothDARTS@d3dbfed06643d5fd4056edd90891ec9109634ada, ``sota/cnn/train_search.py`` and
``nasbench201/train_search.py``): DARTS whose weight steps run on randomly
smoothed alpha, the softmax weights perturbed by U(-epsilon, epsilon) with epsilon ramped per epoch
(``weight_sharing.differentiable.search``, algorithm ``sdarts_rs``), and the final cell by alpha as DARTS. It overrides
only what differs from ``darts.DartsAlpha``: the search it runs (its own training, one job per seed). A step
costs what DARTS's does: the perturbed weights still run every candidate of every edge.

Ours differs on purpose: the supernet size every method of the comparison shares (``WSSetup.sizes``) and its
epochs, not SDARTS's own.
"""

from __future__ import annotations

from nasaudit.weight_sharing.methods.darts import DartsAlpha


class SdartsRS(DartsAlpha):
    """SDARTS-RS (module doc)."""

    name = "sdarts_rs"
    description = ("SDARTS-RS: DARTS with randomly smoothed alpha in the weight steps, final cell by alpha "
                   "(Chen & Hsieh 2020)")
    training = "sdarts_rs"
    algorithm = "sdarts_rs"
