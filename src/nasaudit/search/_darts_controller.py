"""ENAS's micro-search controller on the DARTS cell space (Pham et al. 2018, Sec. 2.3 and 3.2, "micro search";
search-phase paper Sec. 4.1, Table 1 CNN rows).

Follows melodyguan/enas@00787a5f5162814ce8f62a603b76738d240df8df, ``src/cifar10/micro_controller.py`` (the
sampler) with the settings of its ``main.py`` and ``scripts/cifar10_micro_search.sh``: a one-layer LSTM of 64 units
without bias; for every intermediate node of the normal cell, then of the reduce cell (whose sampling continues the
normal cell's LSTM state), it draws the node's two inputs by attention over the earlier nodes (``v . tanh(W1 a_j + W2
h)``; the two cell inputs' anchors are zero, a node's anchor is the LSTM output after its ops) and then their two
ops (``h W + b``, ``b`` initialised to 10 on the two separable convolutions; in the normal cell a fixed bias of
+0.25 on them and -0.25 on the others); index logits sharpened by ``1.10 tanh``, op logits by ``1.10 / 2.5 tanh``,
no temperature; every weight initialised uniform in (-0.1, 0.1). One architecture is ``[in_1, in_2, op_1, op_2]``
per node, normal cell first.

Ours differs on purpose: the ops are the space's selectable ones (no ``none``); a node's second input is drawn
among the nodes other than its first (the DARTS space joins two different nodes; the release may pick one twice);
an op not allowed on the chosen edge (the S1 variant's per-edge op sets) is masked out; the entropy bonus is a
differentiable term of the loss (``Reinforce``) rather than a stopped-gradient term of the reward. In a reduced
space (``SubsetSpace``) every decision is masked to the options some member continues with, so that only members
are drawn (in a reduced space of many members, ``_lstm_policy.Members``: each draw is mapped to the member of its
class).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from nasaudit.errors import ConfigError, TrainingError
from nasaudit.search._lstm_policy import Members, ReleaseLSTM, Sample, draw, sharpen
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsCell, DartsGenotype, DartsSpace
from nasaudit.spaces.subset import PartOfSpace, SubsetSpace

#: draws outside a large reduced space in a row before the controller gives up
MAX_DRAWS = 1000
#: the ops the release's fixed and initial op biases favour (its branches 0 and 1)
_FAVOURED = ("sep_conv_3x3", "sep_conv_5x5")


def darts_decisions(space: DartsSpace, genotype: DartsGenotype) -> list[int]:
    """The controller's decision sequence of ``genotype``: per node ``[in_1, in_2, op_1, op_2]``, normal cell
    first (ops as indices into ``space.ops``)."""
    index = {op: i for i, op in enumerate(space.ops)}
    out: list[int] = []
    for cell_type in CELL_TYPES:
        edges = genotype.cell(cell_type).edges
        for node in range(space.n_nodes):
            (op_a, in_a), (op_b, in_b) = edges[2 * node:2 * node + 2]
            out += [in_a, in_b, index[op_a], index[op_b]]
    return out


class DartsController(nn.Module):
    """ENAS's micro controller over the cells of a DARTS-family ``space`` (module doc)."""

    def __init__(self, space: SearchSpace, *, hidden: int = 64, layers: int = 1, temperature: float | None = None,
                 tanh_constant: float | None = 1.10, op_tanh_reduce: float = 2.5, seed: int = 0) -> None:
        super().__init__()
        base = space.base if isinstance(space, PartOfSpace) else space
        if not isinstance(base, DartsSpace):
            raise ConfigError(f"the ENAS micro controller samples DARTS cells, not {space.name!r} cells")
        if isinstance(space, PartOfSpace) and not isinstance(space, SubsetSpace):
            raise ConfigError(f"the ENAS micro controller samples a reduced space by its members; {space!r} lists none")
        if hidden < 1 or layers < 1 or (temperature is not None and not temperature > 0) or not op_tanh_reduce > 0:
            raise ConfigError(f"the micro controller needs hidden, layers, temperature and op_tanh_reduce positive; "
                              f"got {hidden}, {layers}, {temperature}, {op_tanh_reduce}")
        self.space, self.base = space, base
        self.temperature, self.tanh_constant = temperature, tanh_constant
        self.op_tanh = None if tanh_constant is None else tanh_constant / op_tanh_reduce
        self.op_index = {op: i for i, op in enumerate(base.ops)}
        n_ops = len(base.ops)
        favoured = torch.tensor([op in _FAVOURED for op in base.ops])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.lstm = ReleaseLSTM(hidden, layers)
            self.g_emb = nn.Parameter(torch.empty(1, hidden))
            self.w_emb = nn.Parameter(torch.empty(n_ops, hidden))
            self.w_soft = nn.Parameter(torch.empty(hidden, n_ops))
            self.b_soft = nn.Parameter(torch.empty(n_ops))
            self.w_attn_1 = nn.Parameter(torch.empty(hidden, hidden))
            self.w_attn_2 = nn.Parameter(torch.empty(hidden, hidden))
            self.v_attn = nn.Parameter(torch.empty(hidden, 1))
            for parameter in self.parameters():
                nn.init.uniform_(parameter, -0.1, 0.1)
        with torch.no_grad():
            self.b_soft.copy_(torch.where(favoured, 10.0, 0.0))
        self.b_normal = torch.where(favoured, 0.25, -0.25)  # the release's fixed bias of the normal cell
        self.members = Members(space, lambda genotype: darts_decisions(base, genotype))

    def _allowed(self, prefix: list[int], options: list[int]) -> list[int]:
        return self.members.allowed(prefix, options)

    def sample(self, rng: np.random.Generator) -> Sample:
        """One genotype drawn from ``rng``, with the log-probability and entropy of its decisions (in a large
        reduced space: mapped to the member of its class, drawn again when there is none, ``MAX_DRAWS`` times)."""
        for _ in range(MAX_DRAWS):
            sample = self.draw_genotype(rng)
            member = self.members.member(sample.arch)
            if member is not None:
                return Sample(member, sample.log_prob, sample.entropy)
        raise TrainingError(f"the ENAS micro controller drew {MAX_DRAWS} cells in a row outside the reduced space")

    def draw_genotype(self, rng: np.random.Generator) -> Sample:
        """One raw draw (a member of the space when it is whole or its members are few)."""
        state = self.lstm.zero_state()
        choice: list[int] = []
        log_prob, entropy = torch.zeros(()), torch.zeros(())
        cells: dict[str, DartsCell] = {}
        for cell_type in CELL_TYPES:
            inputs: torch.Tensor = self.g_emb
            anchors: list[torch.Tensor] = []
            keys: list[torch.Tensor] = []
            for _ in range(2):  # the cell's two inputs
                state = self.lstm(inputs, state)
                anchors.append(torch.zeros_like(state[1][-1]))
                keys.append(state[1][-1] @ self.w_attn_1)
            edges: list[tuple[str, int]] = []
            for node in range(self.base.n_nodes):
                picks: list[int] = []
                for _ in range(2):
                    state = self.lstm(inputs, state)
                    query = torch.tanh(torch.cat(keys) + state[1][-1] @ self.w_attn_2) @ self.v_attn
                    logits = sharpen(query.view(-1), self.temperature, self.tanh_constant)
                    options = [src for src in range(node + 2)
                               if src not in picks and self.base.selectable(cell_type, node, src)]
                    pick, lp, ent = draw(logits, self._allowed(choice, options), rng)
                    picks.append(pick)
                    choice.append(pick)
                    log_prob, entropy = log_prob + lp, entropy + ent
                    inputs = anchors[pick]
                ops: list[str] = []
                for src in picks:
                    state = self.lstm(inputs, state)
                    logits = sharpen(state[1][-1][0] @ self.w_soft + self.b_soft, self.temperature, self.op_tanh)
                    if cell_type == "normal":
                        logits = logits + self.b_normal
                    options = [self.op_index[op] for op in self.base.selectable(cell_type, node, src)]
                    op, lp, ent = draw(logits, self._allowed(choice, options), rng)
                    choice.append(op)
                    ops.append(self.base.ops[op])
                    log_prob, entropy = log_prob + lp, entropy + ent
                    inputs = self.w_emb[op][None]
                state = self.lstm(inputs, state)
                anchors.append(state[1][-1])
                keys.append(state[1][-1] @ self.w_attn_1)
                inputs = self.g_emb
                edges += [(ops[0], picks[0]), (ops[1], picks[1])]
            cells[cell_type] = DartsCell(tuple(edges), self.base.concat)
        arch: Any = DartsGenotype(cells["normal"], cells["reduce"])
        return Sample(arch, log_prob, entropy)
