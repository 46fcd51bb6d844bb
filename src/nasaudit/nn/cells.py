"""Cell modules shared by stand-alone networks and weight-sharing supernets.

A cell is a DAG of tensors; each edge ``src -> dst`` carries a module built by an *edge factory*:

* a stand-alone network passes ``primitive_edges(...)``: the one primitive the architecture puts on
  that edge (``get_op``);
* a supernet passes its own factory returning a mixed op (DARTS: all candidates weighted by alpha) or
  a single-path choice op, and lists every candidate edge (e.g. all 14 DARTS edges).

``forward`` takes optional ``edge_args`` (one entry per edge, in the order of ``edges``); when given,
each edge module is called as ``module(x, edge_args[k])``, which is how a supernet feeds its
architecture weights or sampled choices to the edges without the cell knowing what they are.
Without ``edge_args`` each edge module is called as ``module(x)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from nasaudit.errors import ArchitectureError
from nasaudit.nn.ops import FactorizedReduce, ReLUConvBN, get_op


@dataclass(frozen=True)
class Edge:
    """What an edge factory needs: the edge's position in the cell and its tensor shapes."""

    index: int
    src: int
    dst: int
    c_in: int
    c_out: int
    stride: int


EdgeFactory = Callable[[Edge], nn.Module]


def primitive_edges(op_names: Sequence[str], affine: bool = True) -> EdgeFactory:
    """Edge factory of a stand-alone network: edge ``k`` gets primitive ``op_names[k]``."""

    def build(edge: Edge) -> nn.Module:
        return get_op(op_names[edge.index], edge.c_in, edge.c_out, edge.stride, affine)

    return build


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples with probability ``drop_prob`` and rescale the rest (DARTS, NASNet)."""
    keep = 1.0 - drop_prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask / keep


def _run_edges(ops: nn.ModuleList, edges: Sequence[tuple[int, int]], states: list[torch.Tensor],
               dst: int, edge_args: Sequence[Any] | None, drop_prob: float = 0.0) -> torch.Tensor:
    total: torch.Tensor | None = None
    for k, (src, target) in enumerate(edges):
        if target != dst:
            continue
        op = ops[k]
        out = op(states[src]) if edge_args is None else op(states[src], edge_args[k])
        if drop_prob > 0.0 and not isinstance(op, nn.Identity):
            out = drop_path(out, drop_prob)
        total = out if total is None else total + out
    if total is None:
        raise ArchitectureError(f"cell node {dst} has no incoming edge")
    return total


class NB201CellModule(nn.Module):
    """The NB201 cell (NB201 paper Sec. 2.1): node ``j`` sums ``op(node i)`` over its edges ``i -> j``.

    ``edges`` are ``(src, dst)`` pairs over ``n_nodes`` nodes; node 0 is the input and the last node
    the output. Every edge keeps ``channels`` at stride 1.
    """

    def __init__(self, edges: Sequence[tuple[int, int]], n_nodes: int, channels: int,
                 edge_factory: EdgeFactory) -> None:
        super().__init__()
        self.edges = tuple(edges)
        self.n_nodes = n_nodes
        self.ops = nn.ModuleList(
            edge_factory(Edge(k, src, dst, channels, channels, 1)) for k, (src, dst) in enumerate(self.edges)
        )

    def forward(self, x: torch.Tensor, edge_args: Sequence[Any] | None = None) -> torch.Tensor:
        states = [x]
        for dst in range(1, self.n_nodes):
            states.append(_run_edges(self.ops, self.edges, states, dst, edge_args))
        return states[-1]


class DartsCellModule(nn.Module):
    """The DARTS cell (Liu et al., 2019, Sec. 2.1; redundancy paper App. B): two inputs, summed edges.

    Inputs ``c_{k-2}`` and ``c_{k-1}`` are pre-processed to ``channels`` (a factorised reduction when
    the previous cell reduced); intermediate node ``j >= 2`` sums its edges; edges leaving an input
    of a reduction cell have stride 2; the output concatenates the ``concat`` nodes. Drop path is
    applied to every non-identity edge output while training (DARTS ``model.py``).
    """

    def __init__(self, edges: Sequence[tuple[int, int]], concat: Sequence[int], n_nodes: int,
                 c_prev_prev: int, c_prev: int, channels: int, reduction: bool, reduction_prev: bool,
                 edge_factory: EdgeFactory, affine: bool = True) -> None:
        super().__init__()
        self.edges = tuple(edges)
        self.concat = tuple(concat)
        self.n_nodes = n_nodes
        self.reduction = reduction
        self.multiplier = len(self.concat)
        self.preprocess0 = (FactorizedReduce(c_prev_prev, channels, 2, affine) if reduction_prev
                            else ReLUConvBN(c_prev_prev, channels, 1, 1, 0, affine=affine))
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0, affine=affine)
        self.ops = nn.ModuleList(
            edge_factory(Edge(k, src, dst, channels, channels, 2 if reduction and src < 2 else 1))
            for k, (src, dst) in enumerate(self.edges)
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.0,
                edge_args: Sequence[Any] | None = None) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        drop = drop_prob if self.training else 0.0
        for dst in range(2, self.n_nodes + 2):
            states.append(_run_edges(self.ops, self.edges, states, dst, edge_args, drop))
        return torch.cat([states[i] for i in self.concat], dim=1)
