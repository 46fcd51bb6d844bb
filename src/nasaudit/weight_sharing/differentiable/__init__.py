"""Differentiable NAS and architecture selection (selection paper, DARTS-PT; Liu et al., 2019).

Modules (imported directly; this package imports nothing heavy):

* ``config``: ``SearchConfig`` (the papers' defaults; ``SearchConfig.tiny`` for CPUs);
* ``alpha``: ``ArchParameters`` beside a mixed-op supernet and ``Projection`` (fixed decisions);
* ``architect``: the DARTS alpha step, first and second order (finite-difference Hessian-vector product);
* ``search``: ``search(config, splits, *, seed, checkpoint_dir) -> SearchRun``, ``Snapshot``;
* ``selection``: ``select(run_or_snapshot, "alpha" | "pt", *, seed) -> Selection``, ``operation_strength``;
* ``shuffle``: layer / edge shuffling of a trained network or supernet (selection paper Table 1).
"""
