"""ENAS's controller adapted to NAS-Bench-101 cells (search-phase paper Sec. 4.2, Table 3B and App. C.6: "we set
the LSTM sampler size to 64 and keep the temperature as 5.0").

NB101 puts an op on every vertex and lets every vertex take any set of earlier vertices as inputs, as ENAS's macro
search does for layers (Pham et al. 2018, Sec. 2.2-2.3; melodyguan/enas@08b2e0494c441ed28a100c2ebf4d2dcbe3fa2bbc,
``src/cifar10/general_controller.py``, followed here): a one-layer LSTM of 64 units without bias walks the vertices
of a ``max_vertices`` cell; the input vertex is one step from a learnt start embedding; each interior vertex draws
its op (``tanh_constant * tanh(h W / temperature)``) and each vertex after the input, on the next step, draws for
every earlier vertex whether that vertex feeds it (logits ``[-q, q]`` with ``q = v . tanh(W1 a_i + W2 h)``, sharpened
alike; ``a_i`` the earlier vertex's LSTM output); the next step's input is the mean of the chosen vertices'
outputs. Temperature 5.0 (App. C.6) and tanh constant 2.5, as the NB201 controller (``Controller``). The drawn
(matrix, ops) is pruned as NAS-Bench-101 prunes it.

What the paper leaves open and we chose: a draw has at most ``max_edges`` edges before pruning (once that many are
set, every later edge is forced off: a repair that keeps every cell of the space reachable, since dangling edges
never change a pruned cell); a draw whose input and output are not joined is rejected and drawn again (at most
``MAX_DRAWS`` times in a row), and only the accepted draw's decisions enter its log-probability. There is no skip
penalty (the release's ``skip_weight`` 0 in ``main.py``). In a reduced space (``SubsetSpace``) every decision is
masked to the options some member continues with (a member with fewer vertices padded before its output, as NB101
pads), so every draw is a member; in one of many members (``_lstm_policy.Members``) a draw is mapped to the member
of its class (the NB101 hash) and drawn again when there is none.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nasaudit.errors import ArchitectureError, ConfigError, TrainingError
from nasaudit.search._lstm_policy import Members, ReleaseLSTM, Sample, draw, sharpen
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.nb101 import INPUT, OUTPUT, NB101Arch, NB101Space
from nasaudit.spaces.subset import PartOfSpace, SubsetSpace

#: draws without an input->output path in a row before the controller gives up
MAX_DRAWS = 1000


def nb101_decisions(space: NB101Space, arch: NB101Arch) -> list[int]:
    """The controller's decision sequence of ``arch`` padded to ``space.max_vertices`` vertices: for vertex
    ``j = 1 .. V-1``, its op (interior vertices; op 0 on padding) then ``[edge i -> j for i < j]``."""
    size, n = space.max_vertices, arch.n_vertices
    index = np.r_[np.arange(n - 1), size - 1]
    padded = np.zeros((size, size), dtype=np.int64)
    padded[np.ix_(index, index)] = arch.array()
    labels = [space.ops.index(op) for op in arch.ops[1:-1]] + [0] * (size - n)
    out: list[int] = []
    for j in range(1, size):
        if j < size - 1:
            out.append(labels[j - 1])
        out += [int(padded[i, j]) for i in range(j)]
    return out


class NB101Controller(nn.Module):
    """ENAS's controller over the cells of an NB101-family ``space`` (module doc)."""

    def __init__(self, space: SearchSpace, *, hidden: int = 64, layers: int = 1, temperature: float = 5.0,
                 tanh_constant: float = 2.5, seed: int = 0) -> None:
        super().__init__()
        base = space.base if isinstance(space, PartOfSpace) else space
        if not isinstance(base, NB101Space):
            raise ConfigError(f"the NB101 controller samples NB101 cells, not {space.name!r} cells")
        if isinstance(space, PartOfSpace) and not isinstance(space, SubsetSpace):
            raise ConfigError(f"the NB101 controller samples a reduced space by its members; {space!r} lists none")
        if hidden < 1 or layers < 1 or not temperature > 0 or not tanh_constant > 0:
            raise ConfigError(f"the NB101 controller needs hidden, layers, temperature and tanh_constant positive; "
                              f"got {hidden}, {layers}, {temperature}, {tanh_constant}")
        self.space, self.base = space, base
        self.temperature, self.tanh_constant = temperature, tanh_constant
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.lstm = ReleaseLSTM(hidden, layers)
            self.g_emb = nn.Parameter(torch.empty(1, hidden))
            self.w_emb = nn.Parameter(torch.empty(len(base.ops), hidden))
            self.w_soft = nn.Parameter(torch.empty(hidden, len(base.ops)))
            self.w_attn_1 = nn.Parameter(torch.empty(hidden, hidden))
            self.w_attn_2 = nn.Parameter(torch.empty(hidden, hidden))
            self.v_attn = nn.Parameter(torch.empty(hidden, 1))
            for parameter in self.parameters():
                nn.init.uniform_(parameter, -0.1, 0.1)
        self.members = Members(space, lambda arch: nb101_decisions(base, arch))

    def _allowed(self, prefix: list[int], options: list[int]) -> list[int]:
        return self.members.allowed(prefix, options)

    def draw_spec(self, rng: np.random.Generator) -> tuple[np.ndarray, list[str], list[int], torch.Tensor,
                                                             torch.Tensor]:
        """One raw draw before pruning: (matrix, ops, decisions, log-probability, entropy)."""
        size = self.base.max_vertices
        matrix = np.zeros((size, size), dtype=np.int64)
        ops = [INPUT]
        choice: list[int] = []
        log_prob, entropy = torch.zeros(()), torch.zeros(())
        state = self.lstm(self.g_emb, self.lstm.zero_state())  # the input vertex
        anchors, keys = [state[1][-1]], [state[1][-1] @ self.w_attn_1]
        inputs: torch.Tensor = self.g_emb
        for j in range(1, size):
            if j < size - 1:
                state = self.lstm(inputs, state)
                logits = sharpen(state[1][-1][0] @ self.w_soft, self.temperature, self.tanh_constant)
                op, lp, ent = draw(logits, self._allowed(choice, list(range(len(self.base.ops)))), rng)
                choice.append(op)
                ops.append(self.base.ops[op])
                log_prob, entropy = log_prob + lp, entropy + ent
                inputs = self.w_emb[op][None]
            state = self.lstm(inputs, state)
            query = torch.tanh(torch.cat(keys) + state[1][-1] @ self.w_attn_2) @ self.v_attn
            logits = sharpen(torch.cat([-query, query], dim=1), self.temperature, self.tanh_constant)
            for i in range(j):
                options = [0, 1] if matrix.sum() < self.base.max_edges else [0]
                bit, lp, ent = draw(logits[i], self._allowed(choice, options), rng)
                choice.append(bit)
                matrix[i, j] = bit
                log_prob, entropy = log_prob + lp, entropy + ent
            chosen = torch.tensor(matrix[:j, j], dtype=torch.float32)[None]
            inputs = chosen @ torch.cat(anchors) / (1.0 + chosen.sum())
            anchors.append(state[1][-1])
            keys.append(state[1][-1] @ self.w_attn_1)
        ops.append(OUTPUT)
        return matrix, ops, choice, log_prob, entropy

    def sample(self, rng: np.random.Generator) -> Sample:
        """One pruned cell drawn from ``rng`` (module doc: draws without an input->output path are redrawn, and in a
        reduced space of many members so are those whose class has no member)."""
        for _ in range(MAX_DRAWS):
            matrix, ops, _, log_prob, entropy = self.draw_spec(rng)
            try:
                arch = self.members.member(NB101Arch.from_spec(matrix, ops))
            except ArchitectureError:
                continue
            if arch is not None:
                return Sample(arch, log_prob, entropy)
        raise TrainingError(f"the NB101 controller drew {MAX_DRAWS} cells in a row without an input->output path "
                            "or outside the reduced space")
