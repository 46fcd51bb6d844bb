"""Pieces the ENAS controllers of the DARTS and NB101 spaces share (Pham et al. 2018, Sec. 2.1-3.2;
melodyguan/enas@00787a5f5162814ce8f62a603b76738d240df8df, ``src/common_ops.py`` ``stack_lstm`` and the samplers of
``src/cifar10/micro_controller.py`` / ``general_controller.py``): the release's LSTM (one weight matrix per layer
on ``[x, h]``, no bias, gates in the order i, f, o, g), one categorical draw from sharpened logits under a mask of
allowed options, and how a controller stays inside a reduced space (``Members``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.subset import SubsetSpace


@dataclass(frozen=True)
class Sample:
    """One sampled architecture with the log-probability and entropy of its decisions (differentiable)."""

    arch: Any
    log_prob: torch.Tensor
    entropy: torch.Tensor


#: a reduced space of at most this many members is kept by a prefix tree of their decisions; a larger one by
#: mapping each draw to the member of its class (rejected when none), which keeps memory bounded
TREE_LIMIT = 20_000

State = tuple[list[torch.Tensor], list[torch.Tensor]]


class ReleaseLSTM(nn.Module):
    """ENAS's ``stack_lstm``: ``layers`` LSTM layers of ``size`` units, each ``[i, f, o, g] = [x, h] @ w``."""

    def __init__(self, size: int, layers: int = 1) -> None:
        super().__init__()
        self.size = size
        self.weights = nn.ParameterList(nn.Parameter(torch.empty(2 * size, 4 * size)) for _ in range(layers))

    def zero_state(self) -> State:
        zeros = [torch.zeros(1, self.size) for _ in self.weights]
        return list(zeros), list(zeros)

    def forward(self, x: torch.Tensor, state: State) -> State:
        cells, hiddens = [], []
        for layer, w in enumerate(self.weights):
            i, f, o, g = (torch.cat([x, state[1][layer]], dim=1) @ w).split(self.size, dim=1)
            cell = torch.sigmoid(i) * torch.tanh(g) + torch.sigmoid(f) * state[0][layer]
            hidden = torch.sigmoid(o) * torch.tanh(cell)
            cells.append(cell)
            hiddens.append(hidden)
            x = hidden
        return cells, hiddens


def sharpen(logits: torch.Tensor, temperature: float | None, tanh_constant: float | None) -> torch.Tensor:
    """The release's ``logits / temperature`` then ``tanh_constant * tanh(logits)`` (each when set)."""
    if temperature is not None:
        logits = logits / temperature
    if tanh_constant is not None:
        logits = tanh_constant * torch.tanh(logits)
    return logits


def draw(logits: torch.Tensor, allowed: Sequence[int], rng: np.random.Generator
         ) -> tuple[int, torch.Tensor, torch.Tensor]:
    """One option among ``allowed`` (indices into ``logits``), drawn from ``rng`` by the softmax renormalised over
    them; returns the pick, its log-probability and the entropy of the masked distribution (both differentiable;
    a forced choice has log-probability 0 and entropy 0)."""
    mask = torch.full_like(logits, float("-inf"))
    mask[list(allowed)] = 0.0
    log_p = torch.log_softmax(logits + mask, dim=-1)
    p = log_p.exp()
    probs = p.detach().double().numpy()
    pick = int(rng.choice(len(probs), p=probs / probs.sum()))
    return pick, log_p[pick], -(p * log_p.masked_fill(p == 0, 0.0)).sum()


class PrefixTree:
    """For each prefix of the decision sequences of a reduced space's members, the options that some member
    continues with (the controller then samples only members)."""

    def __init__(self, sequences: Iterable[Sequence[int]]) -> None:
        tree: dict[tuple[int, ...], set[int]] = {}
        for sequence in sequences:
            for depth in range(len(sequence)):
                tree.setdefault(tuple(sequence[:depth]), set()).add(sequence[depth])
        self._allowed = {prefix: sorted(options) for prefix, options in tree.items()}

    def allowed(self, prefix: Sequence[int], options: Sequence[int]) -> list[int]:
        """The options after ``prefix`` that some member continues with (a subset of ``options``)."""
        wanted = set(options)
        return [o for o in self._allowed[tuple(prefix)] if o in wanted]


class Members:
    """How a controller keeps to ``space``: the whole space (nothing to do); a reduced space (``SubsetSpace``) of at
    most ``TREE_LIMIT`` members by masking every decision to those some member continues with (``decisions`` gives
    a member's sequence), so that only members are drawn; a larger one by mapping a draw to the member of its
    equivalence class (``canonical``), or rejecting it when the space has none."""

    def __init__(self, space: SearchSpace, decisions: Callable[[Any], Sequence[int]]) -> None:
        self.tree: PrefixTree | None = None
        self.by_class: dict[str, Any] | None = None
        self.space = space
        if isinstance(space, SubsetSpace):
            if len(space.members) <= TREE_LIMIT:
                self.tree = PrefixTree(decisions(m) for m in space.members)
            else:
                self.by_class = {space.base.canonical(m): m for m in space.members}

    def allowed(self, prefix: Sequence[int], options: Sequence[int]) -> list[int]:
        """The options of the next decision after ``prefix`` (all of ``options`` unless a tree masks them)."""
        return list(options) if self.tree is None else self.tree.allowed(prefix, options)

    def member(self, arch: Any) -> Any | None:
        """``arch`` as a member of the space, or None when its class has none."""
        if self.by_class is None:
            return arch
        return self.by_class.get(self.space.canonical(arch))
