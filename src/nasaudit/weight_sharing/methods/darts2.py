"""Second-order DARTS in the fair comparison (Liu et al. 2019, Sec. 2.3, eq. 7-8;
quark0/darts@8876e793763398e3ee62ac1823fa0a3c14e8c2c5, ``cnn/architect.py`` with ``--unrolled``): the alpha
gradient through one unrolled weight step, its Hessian-vector product by central differences
(``weight_sharing.differentiable.architect``, algorithm ``darts2``), the final cell by alpha as first-order DARTS.
It overrides only what differs from ``darts.DartsAlpha``: the search it runs (its own training, one job per seed)
and the counted work of an alpha step, which adds three forward + backward passes over the training batch (the
gradient at w and the two of the finite difference) to its validation pass at the unrolled weights.

Ours differs on purpose: the supernet size every method of the comparison shares (``WSSetup.sizes``) and its
epochs, not DARTS's own.
"""

from __future__ import annotations

from nasaudit.weight_sharing.methods.darts import DartsAlpha


class Darts2Alpha(DartsAlpha):
    """Second-order DARTS (module doc)."""

    name = "darts2_alpha"
    description = "DARTS (second order), final cell by alpha magnitude (Liu et al. 2019)"
    training = "darts2"
    algorithm = "darts2"
    alpha_train_passes = 3
