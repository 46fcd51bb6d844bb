"""Which paths a single-path supernet trains on at each optimiser step (single-path paper Sec. 4.3).

* ``uniform`` (SPOS, Guo et al., 2020; search-phase paper Sec. 4.3): one path per step, each
  architecture of the (op-masked) space equally likely.
* ``fair`` (strict fairness, FairNAS: Chu et al., 2019b; the single-path paper's default): ``|O|``
  paths per step whose gradients are accumulated into one update; on every edge each of the ``|O|``
  candidates is used exactly once among them (an independent random permutation per edge).

With ``share_topology`` every cell follows the same path (the default: the network is trained the
way it is evaluated); without it every cell draws its own (single-path paper Sec. 4.3, "not shared").
Strict fairness needs every candidate to be valid on every edge, so it is defined for NB201-like
spaces only; DARTS genotypes pick two inputs per node and NB101 cells their graph, so both are drawn
by the space's own ``sample`` (``uniform``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from nasaudit.errors import ConfigError
from nasaudit.weight_sharing.supernet.modules import DartsSupernet, NB101Supernet, Supernet

SAMPLINGS: tuple[str, ...] = ("uniform", "fair")


class StepSampler(Protocol):
    """What a single-path training step needs: the paths of one step, shape ``(paths, n_cells, n_edges)``."""

    def step(self, rng: np.random.Generator) -> np.ndarray: ...


class PathSampler:
    """Draws the paths of one training step for ``supernet`` (module doc)."""

    def __init__(self, supernet: Supernet, sampling: str = "fair", share_topology: bool = True) -> None:
        if sampling not in SAMPLINGS:
            raise ConfigError(f"path sampling must be one of {list(SAMPLINGS)}, got {sampling!r}")
        if supernet.mode != "single":
            raise ConfigError("path sampling needs a single-path supernet (mode='single')")
        if sampling == "fair" and isinstance(supernet, DartsSupernet):
            raise ConfigError("strictly fair sampling needs every op on every edge (NB201-like spaces); "
                              "DARTS cells choose their inputs, so use sampling='uniform'")
        if sampling == "fair" and isinstance(supernet, NB101Supernet):
            raise ConfigError("strictly fair sampling needs every op on every edge (NB201-like spaces); "
                              "NB101 cells choose their graph, so use sampling='uniform'")
        self.supernet, self.sampling, self.share_topology = supernet, sampling, share_topology
        self.space = supernet.space

    @property
    def paths_per_step(self) -> int:
        """1 for uniform sampling, ``|O|`` for strictly fair sampling."""
        return int(self.supernet.n_candidates().max()) if self.sampling == "fair" else 1

    def step(self, rng: np.random.Generator) -> np.ndarray:
        """The paths of one optimiser step, shape ``(paths_per_step, n_cells, n_edges)``."""
        if self.sampling == "fair":
            return self._fair(rng)
        n_cells = self.supernet.n_cells
        if self.share_topology:
            return self.supernet.encode(self.space.sample(rng))[None]
        rows = [self.supernet.encode(self.space.sample(rng))[cell] for cell in range(n_cells)]
        return np.stack(rows)[None]

    def _fair(self, rng: np.random.Generator) -> np.ndarray:
        n_ops = self.paths_per_step
        n_cells, n_edges = self.supernet.n_cells, self.supernet.n_candidates().shape[1]
        groups = 1 if self.share_topology else n_cells
        order = rng.permuted(np.broadcast_to(np.arange(n_ops), (groups, n_edges, n_ops)), axis=-1)
        paths = np.moveaxis(order, -1, 0)  # (n_ops, groups, n_edges)
        return np.broadcast_to(paths, (n_ops, n_cells, n_edges)).copy()
