"""The "amount of sharing" experiment of the search-phase paper (App. D.1, Fig. 6, Table 5), in NB201 and RNN cells.

The paper fixes a cell except its last node, whose single input chooses one earlier node and whose op varies (12
architectures in both of its spaces), groups them by the number of shared weight matrices the chosen input depends
on, and reports Kendall tau between ground truth and weight sharing among the architectures with the same connection
but different ops (Table 5), and the weight-sharing ranking coloured by that number (Fig. 6 b).

RNN cells (the paper's Fig. 6 a): the first ``n - 1`` nodes of ``base`` stay; the last node reads node 0 (the cell's
input and state) or an intermediate node ``s`` and applies one of the space's activations. Its output then depends on
the matrices of the intermediate nodes on the path ``s -> ... -> 0`` (each RNN node has exactly one predecessor):
their count is ``shared`` (in a 3-node chain, 0, 1 or 2: "matrices of nodes 1 and 2 also used in the search for
node 3").

NB201 cells: the last node (3) has edges from nodes 0, 1 and 2; the edges into nodes 1 and 2 come from ``base``, and
the input from node ``s`` depends on the parametrised (convolution) ops on the edges of every path 0 -> s. In a space
with ``none``, exactly one edge into node 3 carries a non-``none`` op (the paper's single input). A space without
``none`` (e.g. a supernet trained with ``none`` masked, single-path paper Sec. 4.1) cannot switch the other two edges
off; there they keep ``base``'s ops and only the chosen edge's op varies, so within a group the architectures still
differ only in the op applied to the chosen input.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, SupportsInt, cast

import numpy as np
import pandas as pd

from nasaudit.errors import ConfigError
from nasaudit.metrics import kendall_tau
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch, NB201Space
from nasaudit.spaces.rnn import DARTS_V2, RNNGenotype, RNNSpace, parse_rnn_genotype

if TYPE_CHECKING:
    from nasaudit.spaces.base import SearchSpace

#: edges (indices into ``NB201_EDGES``) on the paths from the input to node 0, 1, 2
_UPSTREAM = {0: (), 1: (0,), 2: (0, 1, 2)}
_INTO_LAST = {src: NB201_EDGES.index((src, 3)) for src in range(3)}


#: NB201's default base: every edge into nodes 1 and 2 a 3x3 convolution (inputs sharing 0, 1 and 3 matrices)
NB201_SHARING_BASE = ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                      "nor_conv_3x3~2|")


def default_sharing_base(space: SearchSpace) -> str:
    """The base cell when none is given: in an RNN space of ``n`` nodes, DARTS V2's first ``n - 1`` nodes (for the
    paper's 3 nodes the chain ``sigmoid 0, relu 1``; an activation the space lacks becomes its first) and a last
    node reading node 0; in NB201, ``NB201_SHARING_BASE``."""
    if isinstance(space, RNNSpace):
        first = [(act if act in space.ops else space.ops[0], pred)  # an op-restricted space: its first op
                 for act, pred in parse_rnn_genotype(DARTS_V2).recurrent[: space.n_nodes - 1]]
        return space.format(space.genotype([*first, (space.ops[0], 0)]))
    return NB201_SHARING_BASE


def sharing_archs(space: SearchSpace, base: Any) -> pd.DataFrame:
    """The architectures of the experiment: one row per (input node of the last node, op) with the number of
    shared weight matrices that input depends on (module doc), in NB201 and RNN spaces."""
    if isinstance(space, RNNSpace):
        return _rnn_sharing_archs(space, base)
    if isinstance(space, NB201Space):
        return _nb201_sharing_archs(space, base)
    raise ConfigError(f"the amount-of-sharing experiment is defined on NB201 and RNN cells, not {space.name!r}")


def _rnn_sharing_archs(space: RNNSpace, base: RNNGenotype) -> pd.DataFrame:
    space.validate(base)
    if space.n_nodes < 2:
        raise ConfigError(f"the amount-of-sharing experiment needs an RNN cell of 2 nodes or more; "
                          f"{space.name!r} has {space.n_nodes}")
    fixed = list(base.recurrent[:-1])
    rows = []
    for src in range(space.n_nodes):
        shared, node = 0, src
        while node:  # the predecessors back to node 0, each an intermediate node with its own matrix
            shared, node = shared + 1, fixed[node - 1][1]
        for op in space.ops:
            rows.append({"arch": space.genotype([*fixed, (op, src)]), "source": src, "op": op, "shared": shared})
    return pd.DataFrame(rows)


def _nb201_sharing_archs(space: NB201Space, base: NB201Arch) -> pd.DataFrame:
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
