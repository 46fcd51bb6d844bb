"""The "amount of sharing" experiment of the search-phase paper (App. D.1, Table 5), in NB201 cells.

The paper fixes a cell except its last node, whose single input edge chooses one earlier node and one
op (12 architectures), groups them by the number of shared weight matrices the chosen input depends
on, and reports Kendall tau between ground truth and weight sharing among the architectures with the
same connection but different ops. In an NB201 cell the last node (3) has edges from nodes 0, 1 and 2;
the edges into nodes 1 and 2 come from ``base``, and the input from node ``s`` depends on the
parametrised (convolution) ops on the edges of every path 0 -> s. In a space with ``none``, exactly
one edge into node 3 carries a non-``none`` op (the paper's single input). A space without ``none``
(e.g. a supernet trained with ``none`` masked, single-path paper Sec. 4.1) cannot switch the other
two edges off; there they keep ``base``'s ops and only the chosen edge's op varies, so within a group
the architectures still differ only in the op applied to the chosen input.
"""

from __future__ import annotations

from typing import SupportsInt, cast

import numpy as np
import pandas as pd

from nasaudit.metrics import kendall_tau
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch, NB201Space

#: edges (indices into ``NB201_EDGES``) on the paths from the input to node 0, 1, 2
_UPSTREAM = {0: (), 1: (0,), 2: (0, 1, 2)}
_INTO_LAST = {src: NB201_EDGES.index((src, 3)) for src in range(3)}


def sharing_archs(space: NB201Space, base: NB201Arch) -> pd.DataFrame:
    """The architectures of the experiment: one row per (input node of node 3, op), with the number
    of shared weight matrices (parametrised ops of ``base`` upstream of that input); module doc for
    spaces without ``none``."""
    space.validate(base)
    switch_off = "none" in space.ops
    ops = [op for op in space.ops if op != "none"]
    rows = []
    for src, edge in _INTO_LAST.items():
        shared = sum(base.ops[k].startswith("nor_conv") for k in _UPSTREAM[src])
        for op in ops:
            cell = list(base.ops)
            if switch_off:
                for other in _INTO_LAST.values():
                    cell[other] = "none"
            cell[edge] = op
            rows.append({"arch": NB201Arch(tuple(cell)), "source": src, "op": op, "shared": shared})
    return pd.DataFrame(rows)


def amount_of_sharing(archs: pd.DataFrame, truth: np.ndarray, predictions: np.ndarray) -> pd.DataFrame:
    """Kendall tau between ground truth and weight sharing within each input node (search-phase paper
    Table 5), per supernet seed, with its mean and std over seeds; one row per input node."""
    pred = np.atleast_2d(np.asarray(predictions, dtype=np.float64))
    t = np.asarray(truth, dtype=np.float64)
    rows = []
    for key, group in archs.groupby(["source", "shared"], sort=True):
        # pandas-stubs types group keys as Hashable; both columns hold ints (``sharing_archs``)
        src, shared = cast("tuple[SupportsInt, SupportsInt]", key)
        index = group.index.to_numpy()
        taus = np.array([kendall_tau(t[index], p[index]) for p in pred])
        finite = taus[np.isfinite(taus)]
        rows.append({"source": int(src), "shared": int(shared), "archs": index.size,
                     "tau_mean": float(finite.mean()) if finite.size else float("nan"),
                     "tau_std": float(finite.std(ddof=1)) if finite.size > 1 else float("nan"),
                     "seeds": finite.size})
    return pd.DataFrame(rows)
