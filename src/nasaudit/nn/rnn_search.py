"""The weight-sharing networks of the recurrent cell space (search-phase paper Sec. 4.2, Table 3A, App. C.6; DARTS
Sec. 2.1-2.4; ENAS Sec. 2.1-2.2): DARTS's mixed search cell, ENAS's shared cell, and ENAS's controller over it.

Written anew after the releases, nothing copied:

* ``DARTSSearchCell`` follows quark0/darts@8876e793763398e3ee62ac1823fa0a3c14e8c2c5 ``rnn/model_search.py``
  (``DARTSCellSearch``): the initial state ``s0`` of the DARTS cell (``nn.rnn_cell``) batch-normalised (no affine);
  node ``i`` multiplies every earlier state ``s_j`` by its own matrix ``W_i`` (one per node, shared by its
  predecessors), ``[c, h] = s_j W_i``, and sums ``p[i, j, k] * (s_j + sigmoid(c) * (f_k(h) - s_j))`` over every
  predecessor ``j`` and every activation ``f_k`` but ``none``, where ``p[i, j] = softmax(alpha[i, j])`` over the
  five ``SEARCH_PRIMITIVES`` (``none`` included, contributing zero); each node's state batch-normalised; the output
  the mean of the nodes. The hidden-state dropout mask multiplies the states fed to ``W_i``, not the highway term.
* ``ENASSharedCell`` is the DARTS cell of a sampled genotype with one matrix per (node, predecessor) pair, shared by
  every architecture that draws that pair (carpedm20/ENAS-pytorch@1674c948971e38ce847a3d7f503152b7e0c4bab8
  ``models/shared_rnn.py``'s ``w_h[i][j]``/``w_c[i][j]`` as one ``[nhid, 2 nhid]`` matrix); a sampled path runs
  exactly the equations of the stand-alone cell (``nn.rnn_cell.DARTSRNNCell``).
* ``RNNController`` is the PTB controller of melodyguan/enas@00787a5f5162814ce8f62a603b76738d240df8df
  ``src/ptb/ptb_enas_controller.py``: an LSTM without biases (``[i, f, o, g] = [x, h] W``) started from ``g_emb``;
  per node it attends over the earlier nodes' anchors (``v . tanh(W2 h + W1 a_j)``), subtracts
  ``(i - j)^2 / 12``, draws the predecessor, feeds ``a_j / (0.1 + i - j)``, then draws the activation from
  ``W_soft h`` and feeds its embedding; logits sharpened as ``tanh_constant * tanh(logits / temperature)``.

Differences on purpose: the ENAS cell has no batch normalisation (the release normalises each node and the
output) so that a path is the stand-alone cell ranked; node 0 is DARTS's fixed initial state, so the controller
takes no decision there (its LSTM steps once on ``g_emb`` for node 0's anchor, then reads the tanh embedding, node
0's activation); the controller's LSTM state is carried from step to step (the release restarts every step from
zeros, which its CIFAR controller does not); one LSTM layer of ``hidden`` units (the release: 100).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from nasaudit.errors import ConfigError
from nasaudit.nn.rnn_cell import _ACTIVATIONS, INITRANGE, MAX_HIDDEN, RNNModel, step_masks
from nasaudit.spaces.rnn import MAX_RNN_NODES, RNN_OPS, RNNGenotype

#: DARTS ``rnn/genotypes.py`` PRIMITIVES: the search's ``none`` and the four activations
SEARCH_PRIMITIVES: tuple[str, ...] = ("none", *RNN_OPS)
#: a one-node genotype RNNModel builds before a search cell replaces its cell
_PLACEHOLDER = RNNGenotype((("tanh", 0),), (1,))


def _check_sizes(ninp: int, nhid: int, n_nodes: int) -> None:
    for name, value, upper in (("ninp", ninp, MAX_HIDDEN), ("nhid", nhid, MAX_HIDDEN),
                               ("n_nodes", n_nodes, MAX_RNN_NODES)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
            raise ConfigError(f"{name} must be an integer in 1..{upper}, got {value!r}")


def alpha_rows(n_nodes: int) -> int:
    """Rows of DARTS's alpha: one per (node, predecessor) pair, node-major (``sum(1..n)``)."""
    return n_nodes * (n_nodes + 1) // 2


class _UnrolledCell(nn.Module):
    """A recurrent cell run over ``[T, B, ninp]`` inputs with DARTS's variational masks (``nn.rnn_cell``)."""

    ninp: int
    nhid: int
    dropouth: float
    dropoutx: float

    def _init_state(self, w0: torch.Tensor, x: torch.Tensor, h_prev: torch.Tensor, x_mask: torch.Tensor | None,
                    h_mask: torch.Tensor | None) -> torch.Tensor:
        xh = torch.cat([x if x_mask is None else x * x_mask, h_prev if h_mask is None else h_prev * h_mask], -1)
        c0, h0 = torch.split(xh.mm(w0), self.nhid, dim=-1)
        return h_prev + c0.sigmoid() * (h0.tanh() - h_prev)

    def step(self, x: torch.Tensor, h_prev: torch.Tensor, x_mask: torch.Tensor | None,
             h_mask: torch.Tensor | None) -> torch.Tensor:
        raise NotImplementedError

    def begin(self) -> None:
        """Called once per forward before the steps (the DARTS cell computes its op weights here)."""

    def forward(self, inputs: torch.Tensor, hidden: torch.Tensor,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x_mask, h_mask = step_masks(self, inputs, generator)
        self.begin()
        h = hidden[0]
        outputs = []
        for t in range(inputs.size(0)):
            h = self.step(inputs[t], h, x_mask, h_mask)
            outputs.append(h)
        stacked = torch.stack(outputs)
        return stacked, stacked[-1].unsqueeze(0)


class DARTSSearchCell(_UnrolledCell):
    """DARTS's mixed recurrent cell of ``n_nodes`` nodes (module doc). ``alpha`` ``[alpha_rows(n), 5]`` is set by
    the search (not a parameter of the model: the weight optimiser never sees it); ``fixed``, when set, replaces
    ``softmax(alpha)`` (a discrete cell as one-hot rows, for ranking); ``batch_stats`` normalises an evaluation
    forward by the batch's own statistics (running statistics are of the mixture, not of one cell)."""

    def __init__(self, ninp: int, nhid: int, n_nodes: int, dropouth: float = 0.0, dropoutx: float = 0.0) -> None:
        super().__init__()
        _check_sizes(ninp, nhid, n_nodes)
        self.ninp, self.nhid, self.n_nodes = ninp, nhid, n_nodes
        self.dropouth, self.dropoutx = float(dropouth), float(dropoutx)
        self._W0 = nn.Parameter(torch.empty(ninp + nhid, 2 * nhid))
        self._Ws = nn.ParameterList([nn.Parameter(torch.empty(nhid, 2 * nhid)) for _ in range(n_nodes)])
        self.bn = nn.BatchNorm1d(nhid, affine=False)
        self.alpha = torch.zeros(alpha_rows(n_nodes), len(SEARCH_PRIMITIVES))
        self.fixed: torch.Tensor | None = None
        self.batch_stats = False
        self._probs = self.alpha
        self._fns = [_ACTIVATIONS[name] for name in SEARCH_PRIMITIVES[1:]]

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Every weight uniform in (-INITRANGE, INITRANGE), W0 first then the nodes' in order."""
        with torch.no_grad():
            for weight in (self._W0, *self._Ws):
                weight.uniform_(-INITRANGE, INITRANGE, generator=generator)

    def begin(self) -> None:
        self._probs = self.fixed if self.fixed is not None else F.softmax(self.alpha, dim=-1)

    def _norm(self, s: torch.Tensor) -> torch.Tensor:
        if not self.training and self.batch_stats:
            return F.batch_norm(s, None, None, training=True, eps=self.bn.eps)
        return self.bn(s)

    def step(self, x: torch.Tensor, h_prev: torch.Tensor, x_mask: torch.Tensor | None,
             h_mask: torch.Tensor | None) -> torch.Tensor:
        states = self._norm(self._init_state(self._W0, x, h_prev, x_mask, h_mask)).unsqueeze(0)
        offset = 0
        for i in range(self.n_nodes):
            fed = states if h_mask is None else states * h_mask.unsqueeze(0)
            ch = fed.reshape(-1, self.nhid).mm(self._Ws[i]).view(i + 1, -1, 2 * self.nhid)
            c, h = torch.split(ch, self.nhid, dim=-1)
            c = c.sigmoid()
            rows = self._probs[offset:offset + i + 1]
            s = torch.zeros_like(states[0])
            for k, fn in enumerate(self._fns, start=1):
                s = s + (rows[:, k, None, None] * (states + c * (fn(h) - states))).sum(0)
            states = torch.cat([states, self._norm(s).unsqueeze(0)], 0)
            offset += i + 1
        return states[1:].mean(0)


def one_hot_weights(genotype: RNNGenotype, ops: Sequence[str] = SEARCH_PRIMITIVES) -> torch.Tensor:
    """The op weights that make the DARTS search cell run exactly ``genotype``: per node, 1 at (its predecessor,
    its activation), 0 elsewhere (every other predecessor all ``none``)."""
    n = genotype.n_nodes
    weights = torch.zeros(alpha_rows(n), len(ops))
    offset = 0
    for i, (act, pred) in enumerate(genotype.recurrent):
        weights[offset + pred, ops.index(act)] = 1.0
        offset += i + 1
    return weights


def derive_darts_genotype(probs: np.ndarray, n_nodes: int, ops: Sequence[str] = RNN_OPS,
                          members: Sequence[RNNGenotype] | None = None) -> RNNGenotype:
    """DARTS's ``genotype()`` (``_parse``): per node the predecessor whose best non-``none`` weight is largest, then
    that row's best non-``none`` activation (the first on ties); the output averages every node. ``probs`` are the
    ``softmax(alpha)`` rows over ``SEARCH_PRIMITIVES``; ``ops`` the activations allowed (a restricted space).
    Within ``members`` (a reduced space), the release's cell if it is one, else the member whose chosen (node,
    predecessor, activation) weights have the largest product (the first on ties)."""
    if probs.shape != (alpha_rows(n_nodes), len(SEARCH_PRIMITIVES)):
        raise ConfigError(f"DARTS RNN weights must be [{alpha_rows(n_nodes)}, {len(SEARCH_PRIMITIVES)}], got "
                          f"{list(probs.shape)}")
    columns = [SEARCH_PRIMITIVES.index(op) for op in ops]
    nodes: list[tuple[str, int]] = []
    offset = 0
    for i in range(n_nodes):
        block = probs[offset:offset + i + 1][:, columns]
        pred = int(np.argmax(block.max(axis=1)))
        nodes.append((ops[int(np.argmax(block[pred]))], pred))
        offset += i + 1
    found = RNNGenotype(tuple(nodes), tuple(range(1, n_nodes + 1)))
    if members is None or found in members:
        return found

    def strength(cell: RNNGenotype) -> float:
        starts = [i * (i + 1) // 2 for i in range(n_nodes)]
        return float(sum(math.log(max(float(probs[starts[i] + pred, SEARCH_PRIMITIVES.index(act)]), 1e-300))
                         for i, (act, pred) in enumerate(cell.recurrent)))

    return max(members, key=strength)  # max keeps the first of equal strengths


class ENASSharedCell(_UnrolledCell):
    """ENAS's shared recurrent cell over ``n_nodes`` nodes (module doc): ``W0`` and one matrix per (node,
    predecessor); ``arch`` (a genotype of ``n_nodes`` nodes) is the path run, set before each forward."""

    def __init__(self, ninp: int, nhid: int, n_nodes: int, dropouth: float = 0.0, dropoutx: float = 0.0) -> None:
        super().__init__()
        _check_sizes(ninp, nhid, n_nodes)
        self.ninp, self.nhid, self.n_nodes = ninp, nhid, n_nodes
        self.dropouth, self.dropoutx = float(dropouth), float(dropoutx)
        self._W0 = nn.Parameter(torch.empty(ninp + nhid, 2 * nhid))
        #: node-major: the matrix of (node i, predecessor j) is ``_Ws[i * (i - 1) // 2 + j]``
        self._Ws = nn.ParameterList([nn.Parameter(torch.empty(nhid, 2 * nhid)) for _ in range(alpha_rows(n_nodes))])
        self.arch: RNNGenotype | None = None

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Every weight uniform in (-INITRANGE, INITRANGE), W0 first then the pairs' in order."""
        with torch.no_grad():
            for weight in (self._W0, *self._Ws):
                weight.uniform_(-INITRANGE, INITRANGE, generator=generator)

    def weight(self, node: int, pred: int) -> torch.Tensor:
        """The shared matrix of ``node`` (1..n) reading ``pred`` (0..node-1)."""
        return self._Ws[node * (node - 1) // 2 + pred]

    def begin(self) -> None:
        if self.arch is None or self.arch.n_nodes != self.n_nodes:
            raise ConfigError(f"the ENAS shared cell runs a genotype of {self.n_nodes} nodes; set its arch first")

    def step(self, x: torch.Tensor, h_prev: torch.Tensor, x_mask: torch.Tensor | None,
             h_mask: torch.Tensor | None) -> torch.Tensor:
        assert self.arch is not None
        states = [self._init_state(self._W0, x, h_prev, x_mask, h_mask)]
        for i, (act, pred) in enumerate(self.arch.recurrent, start=1):
            s_prev = states[pred]
            fed = s_prev if h_mask is None else s_prev * h_mask
            c, h = torch.split(fed.mm(self.weight(i, pred)), self.nhid, dim=-1)
            states.append(s_prev + c.sigmoid() * (_ACTIVATIONS[act](h) - s_prev))
        return torch.stack([states[i] for i in self.arch.concat], -1).mean(-1)


class SharedRNNModel(RNNModel):
    """DARTS's language model (``nn.rnn_cell.RNNModel``: embedding, locked dropouts, tied decoder) around a
    weight-sharing ``cell`` (``DARTSSearchCell`` or ``ENASSharedCell``); weights drawn from ``seed``, the cell's
    first, as the stand-alone model draws them."""

    def __init__(self, ntoken: int, cell: DARTSSearchCell | ENASSharedCell, dropout: float = 0.75,
                 dropouti: float = 0.2, dropoute: float = 0.0, seed: int = 0) -> None:
        super().__init__(ntoken, _PLACEHOLDER, ninp=cell.ninp, nhid=cell.nhid, dropout=dropout, dropouth=0.0,
                         dropoutx=0.0, dropouti=dropouti, dropoute=dropoute, tie_weights=cell.ninp == cell.nhid,
                         seed=seed)
        self.cell = cell  # type: ignore[assignment]  # the same forward/reset interface as DARTSRNNCell
        self.reset_parameters()

    def dropout_state(self) -> dict[str, torch.Tensor]:
        """The dropout-mask generators' states by device (a search's checkpoint keeps them to resume exactly)."""
        return {device: generator.get_state() for device, generator in self._generators.items()}

    def load_dropout_state(self, state: dict[str, torch.Tensor]) -> None:
        """Continue the dropout masks from ``dropout_state``'s ``state``."""
        self._generators.clear()
        for device, generator_state in state.items():
            self._generator(torch.device(device)).set_state(generator_state)


# ------------------------------------------------------------------------------------------- the controller
@dataclass(frozen=True)
class ControllerSample:
    """A sampled cell, its decisions ``(pred_1, act_1, pred_2, act_2, ...)`` (activation as an index into the
    controller's ops), and their summed log-probability and entropy (differentiable)."""

    arch: RNNGenotype
    choices: tuple[int, ...]
    log_prob: torch.Tensor
    entropy: torch.Tensor


class RNNController(nn.Module):
    """ENAS's PTB controller over the cells of ``n_nodes`` nodes with activations ``ops`` (module doc).

    ``allowed``, if given, maps a prefix of decisions to the options some member of a reduced space completes it
    with; ``sample(rng)`` draws from ``rng``; ``replay(choices)`` scores given decisions (teacher forcing)."""

    def __init__(self, n_nodes: int, ops: Sequence[str] = RNN_OPS, *, hidden: int = 100, temperature: float = 5.0,
                 tanh_constant: float = 2.5, seed: int = 0,
                 allowed: dict[tuple[int, ...], list[int]] | None = None) -> None:
        super().__init__()
        if not 1 <= n_nodes <= MAX_RNN_NODES or not 1 <= hidden <= MAX_HIDDEN:
            raise ConfigError(f"controller needs 1..{MAX_RNN_NODES} nodes and 1..{MAX_HIDDEN} hidden units")
        if not temperature > 0 or not tanh_constant > 0:
            raise ConfigError(f"controller temperature and tanh_constant must be positive, got {temperature}, "
                              f"{tanh_constant}")
        if not ops or any(op not in RNN_OPS for op in ops):
            raise ConfigError(f"controller activations must be among {list(RNN_OPS)}, got {list(ops)}")
        self.n_nodes, self.ops, self.hidden = n_nodes, tuple(ops), hidden
        self.temperature, self.tanh_constant = float(temperature), float(tanh_constant)
        self.allowed = allowed
        self.w_lstm = nn.Parameter(torch.empty(2 * hidden, 4 * hidden))
        self.g_emb = nn.Parameter(torch.empty(1, hidden))
        self.w_emb = nn.Parameter(torch.empty(len(RNN_OPS), hidden))
        self.w_soft = nn.Parameter(torch.empty(hidden, len(self.ops)))
        self.attn_w_1 = nn.Parameter(torch.empty(hidden, hidden))
        self.attn_w_2 = nn.Parameter(torch.empty(hidden, hidden))
        self.attn_v = nn.Parameter(torch.empty(hidden, 1))
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in self.parameters():  # the release's uniform(-0.1, 0.1) initialiser
                p.uniform_(-0.1, 0.1, generator=generator)

    def lstm(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the release's ``stack_lstm`` layer: ``(c, h)`` from ``x [1, H]`` and ``state``."""
        i, f, o, g = (torch.cat([x, state[1]], 1) @ self.w_lstm).split(self.hidden, dim=1)
        c = i.sigmoid() * g.tanh() + f.sigmoid() * state[0]
        return c, o.sigmoid() * c.tanh()

    def _sharpen(self, logits: torch.Tensor) -> torch.Tensor:
        return self.tanh_constant * torch.tanh(logits / self.temperature)

    def _options(self, prefix: Sequence[int], n: int) -> list[int]:
        return list(range(n)) if self.allowed is None else self.allowed.get(tuple(prefix), [])

    def _decide(self, logits: torch.Tensor, prefix: list[int], forced: int | None, rng: np.random.Generator | None
                ) -> tuple[int, torch.Tensor, torch.Tensor]:
        options = self._options(prefix, logits.numel())
        if not options:
            raise ConfigError(f"no member of the reduced space continues the decisions {prefix}")
        mask = torch.full_like(logits, float("-inf"))
        mask[options] = 0.0
        log_p = torch.log_softmax(logits + mask, dim=-1)
        p = log_p.exp()
        if forced is None:
            assert rng is not None
            probs = p.detach().double().numpy()
            pick = int(rng.choice(len(probs), p=probs / probs.sum()))
        else:
            pick = forced
            if pick not in options:
                raise ConfigError(f"decision {len(prefix) + 1} = {pick} is not an allowed option {options}")
        entropy = -(p * log_p.masked_fill(p == 0, 0.0)).sum()
        return pick, log_p[pick], entropy

    def _run(self, rng: np.random.Generator | None, forced: Sequence[int] | None) -> ControllerSample:
        zeros = torch.zeros(1, self.hidden)
        state = self.lstm(self.g_emb, (zeros, zeros))
        anchors, anchors_w = [state[1]], [state[1] @ self.attn_w_1]
        inputs = self.w_emb[RNN_OPS.index("tanh")].unsqueeze(0)  # node 0's activation (DARTS's initial state)
        choices: list[int] = []
        log_prob, entropy = torch.zeros(()), torch.zeros(())
        for i in range(1, self.n_nodes + 1):
            state = self.lstm(inputs, state)
            query = torch.tanh(state[1] @ self.attn_w_2 + torch.cat(anchors_w, 0))
            logits = self._sharpen((query @ self.attn_v).view(i))
            logits = logits - (i - torch.arange(i, dtype=logits.dtype)) ** 2 / 12.0
            pred, lp, ent = self._decide(logits, choices, None if forced is None else forced[len(choices)], rng)
            choices.append(pred)
            log_prob, entropy = log_prob + lp, entropy + ent
            anchors.append(state[1])
            anchors_w.append(state[1] @ self.attn_w_1)
            state = self.lstm(anchors[pred] / (0.1 + i - pred), state)
            logits = self._sharpen((state[1] @ self.w_soft).view(-1))
            act, lp, ent = self._decide(logits, choices, None if forced is None else forced[len(choices)], rng)
            choices.append(act)
            log_prob, entropy = log_prob + lp, entropy + ent
            inputs = self.w_emb[RNN_OPS.index(self.ops[act])].unsqueeze(0)
        nodes = tuple((self.ops[choices[2 * k + 1]], choices[2 * k]) for k in range(self.n_nodes))
        arch = RNNGenotype(nodes, tuple(range(1, self.n_nodes + 1)))
        return ControllerSample(arch, tuple(choices), log_prob, entropy)

    def sample(self, rng: np.random.Generator) -> ControllerSample:
        """Draw one cell (decisions from ``rng``); the log-probability carries the gradient."""
        return self._run(rng, None)

    def replay(self, choices: Sequence[int]) -> ControllerSample:
        """The log-probability and entropy of given decisions ``(pred_1, act_1, ...)``."""
        if len(choices) != 2 * self.n_nodes:
            raise ConfigError(f"a cell of {self.n_nodes} nodes has {2 * self.n_nodes} decisions, got {len(choices)}")
        return self._run(None, list(choices))


def decision_tree(members: Sequence[RNNGenotype], ops: Sequence[str]) -> dict[tuple[int, ...], list[int]]:
    """Prefix -> the next decisions that some member completes (``RNNController.allowed``)."""
    tree: dict[tuple[int, ...], set[int]] = {}
    for cell in members:
        flat = [v for act, pred in cell.recurrent for v in (pred, list(ops).index(act))]
        for depth in range(len(flat)):
            tree.setdefault(tuple(flat[:depth]), set()).add(flat[depth])
    return {prefix: sorted(options) for prefix, options in tree.items()}
