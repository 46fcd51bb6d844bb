"""The ENAS controller and REINFORCE (Pham et al., 2018; search-phase paper Sec. 4.3, Table 4).

An architecture is a sequence of categorical decisions (NB201: the op of each of the six edges). An LSTM
controller samples the decisions one after another, each conditioned on the ones before (ENAS Sec. 2.1),
and is trained by REINFORCE with a moving-average baseline and an entropy bonus (ENAS Sec. 2.2). The same
controller drives ENAS over shared weights (``nasaudit.weight_sharing``, reward: the supernet's accuracy)
and, as the query-based strategy ``reinforce`` here, over the evaluator's scores (the ground truth): the
search-phase paper's "search without weight sharing", which separates the search policy from the sharing.

In a reduced space (``SubsetSpace``) the controller only offers decisions that some member completes.

``make_controller`` gives the controller of a space's family: this module's ``Controller`` on NB201, ENAS's micro
controller on DARTS cells (``_darts_controller``) and its App. C.6 adaptation on NB101 cells (``_nb101_controller``);
all of them draw a ``Sample`` and train by the same ``Reinforce``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from nasaudit.errors import ConfigError
from nasaudit.search._lstm_policy import Sample
from nasaudit.search.base import QueryLog, Strategy, sample_unseen, unseen_neighbours
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch
from nasaudit.spaces.subset import SubsetSpace

#: draws of already-evaluated architectures in a row before a query-based run queries a neighbour of the last one
_MAX_SEEN_DRAWS = 10


class Decisions:
    """An NB201-family space as six op decisions; in a reduced space, only the prefixes members complete."""

    def __init__(self, space: SearchSpace) -> None:
        if space.family != "nb201":
            raise ConfigError(f"the ENAS controller samples NB201 cells (one op per edge), not {space.name!r} cells")
        self.space = space
        self.options: tuple[str, ...] = tuple(space.ops)
        self.length = len(NB201_EDGES)
        self._allowed: dict[tuple[int, ...], list[int]] | None = None
        if isinstance(space, SubsetSpace):
            index = {op: i for i, op in enumerate(self.options)}
            tree: dict[tuple[int, ...], set[int]] = {}
            for member in space.members:
                choice = tuple(index[op] for op in member.ops)
                for depth in range(self.length):
                    tree.setdefault(choice[:depth], set()).add(choice[depth])
            self._allowed = {prefix: sorted(options) for prefix, options in tree.items()}

    def allowed(self, prefix: Sequence[int]) -> list[int]:
        """The option indices of decision ``len(prefix)`` that some architecture completes."""
        if self._allowed is None:
            return list(range(len(self.options)))
        return self._allowed[tuple(prefix)]

    def to_arch(self, choice: Sequence[int]) -> NB201Arch:
        return NB201Arch(tuple(self.options[i] for i in choice))


class Controller(nn.Module):
    """ENAS's LSTM policy over ``decisions`` (ENAS Sec. 2.1, 3.1): the previous choice's embedding is the next
    step's input; logits are ``tanh_constant * tanh(W h / temperature)`` (ENAS code's sampling sharpening)."""

    def __init__(self, decisions: Decisions, *, hidden: int = 64, temperature: float = 5.0,
                 tanh_constant: float = 2.5, seed: int = 0) -> None:
        super().__init__()
        if hidden < 1 or not temperature > 0 or not tanh_constant > 0:
            raise ConfigError(f"controller needs hidden >= 1 and positive temperature and tanh_constant; got "
                              f"{hidden}, {temperature}, {tanh_constant}")
        self.decisions = decisions
        self.temperature, self.tanh_constant = temperature, tanh_constant
        n = len(decisions.options)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.start = nn.Parameter(torch.empty(1, hidden).uniform_(-0.1, 0.1))
            self.embed = nn.Embedding(n, hidden)
            self.lstm = nn.LSTMCell(hidden, hidden)
            self.heads = nn.ModuleList(nn.Linear(hidden, n) for _ in range(decisions.length))
            for parameter in self.parameters():
                nn.init.uniform_(parameter, -0.1, 0.1)  # ENAS initialises every controller weight so

    def sample(self, rng: np.random.Generator) -> Sample:
        """Sample one architecture; the draw comes from ``rng`` (the gradient flows through the log-probs)."""
        state: tuple[torch.Tensor, torch.Tensor] | None = None
        inputs = self.start
        choice: list[int] = []
        log_prob = torch.zeros(())
        entropy = torch.zeros(())
        for step in range(self.decisions.length):
            hidden, cell = self.lstm(inputs, state)
            state = (hidden, cell)
            logits = self.tanh_constant * torch.tanh(self.heads[step](hidden)[0] / self.temperature)
            mask = torch.full_like(logits, float("-inf"))
            mask[self.decisions.allowed(choice)] = 0.0
            log_p = torch.log_softmax(logits + mask, dim=-1)
            p = log_p.exp()
            probs = p.detach().double().numpy()
            pick = int(rng.choice(len(probs), p=probs / probs.sum()))
            choice.append(pick)
            log_prob = log_prob + log_p[pick]
            entropy = entropy - (p * log_p.masked_fill(p == 0, 0.0)).sum()
            inputs = self.embed(torch.tensor([pick]))
        return Sample(self.decisions.to_arch(choice), log_prob, entropy)


class Policy(Protocol):
    """What ``Reinforce`` trains: a torch module that draws a ``Sample`` from a numpy generator (its weights kept and
    restored as a module's, for a resumed ENAS seed)."""

    def sample(self, rng: np.random.Generator) -> Sample: ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any: ...


def make_controller(space: SearchSpace, *, seed: int = 0) -> Policy:
    """The ENAS controller of ``space``'s family (module doc), its weights drawn from ``seed``."""
    if space.family == "nb201":
        return Controller(Decisions(space), seed=seed)
    if space.family == "darts":
        from nasaudit.search._darts_controller import DartsController

        return DartsController(space, seed=seed)
    if space.family == "nb101":
        from nasaudit.search._nb101_controller import NB101Controller

        return NB101Controller(space, seed=seed)
    raise ConfigError(f"the ENAS controller samples NB201, DARTS or NB101 cells, not {space.name!r} cells")


def check_reinforce(lr: float, baseline_decay: float, entropy_weight: float) -> None:
    """Refuse REINFORCE settings that cannot work, before any compute."""
    if not lr > 0 or not 0 <= baseline_decay < 1 or not entropy_weight >= 0:
        raise ConfigError(f"REINFORCE needs lr > 0, 0 <= baseline_decay < 1 and entropy_weight >= 0; got {lr}, "
                          f"{baseline_decay}, {entropy_weight}")


class Reinforce:
    """REINFORCE for a controller (ENAS Sec. 2.2): Adam on ``-A log p - entropy_weight * H``.

    The advantage ``A = (R - b) / s`` uses a moving-average baseline ``b`` and a moving root-mean-square
    ``s`` of ``R - b`` (both decaying by ``baseline_decay``), so the step size does not depend on the
    reward's units (accuracy in % or as a fraction); ENAS uses ``R - b`` alone, tuned to its reward.
    """

    def __init__(self, controller: Policy, *, lr: float = 0.005, baseline_decay: float = 0.9,
                 entropy_weight: float = 1e-4) -> None:
        check_reinforce(lr, baseline_decay, entropy_weight)
        self.controller = controller
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=lr)
        self.baseline_decay, self.entropy_weight = baseline_decay, entropy_weight
        self.baseline: float | None = None
        self.scale = 0.0

    def update(self, samples: Sequence[Sample], rewards: Sequence[float]) -> None:
        """One policy-gradient step on the samples and their rewards."""
        mean = float(np.mean(rewards))
        decay = self.baseline_decay
        self.baseline = mean if self.baseline is None else decay * self.baseline + (1 - decay) * mean
        spread = float(np.mean([(r - self.baseline) ** 2 for r in rewards]))
        self.scale = spread if self.scale == 0.0 else decay * self.scale + (1 - decay) * spread
        norm = float(np.sqrt(self.scale)) if self.scale > 0 else 1.0
        loss = torch.stack([-((reward - self.baseline) / norm) * s.log_prob - self.entropy_weight * s.entropy
                            for s, reward in zip(samples, rewards, strict=True)]).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()


class ReinforceSearch(Strategy):
    """The ENAS controller trained by REINFORCE on the evaluator's scores: search without weight sharing
    (search-phase paper Table 4). One architecture per step; a draw the run has already evaluated is
    rewarded with its known score without spending a query; after ``_MAX_SEEN_DRAWS`` such draws in a row
    (the policy has converged) the next query is an unevaluated neighbour of the last draw (a random
    unevaluated architecture if it has none). The reward is the score."""

    name = "reinforce"

    def __init__(self, lr: float = 0.005, baseline_decay: float = 0.9, entropy_weight: float = 1e-4,
                 hidden: int = 64) -> None:
        check_reinforce(lr, baseline_decay, entropy_weight)
        if hidden < 1:
            raise ConfigError(f"the controller needs hidden >= 1, got {hidden}")
        self.params = {"lr": lr, "baseline_decay": baseline_decay, "entropy_weight": entropy_weight}
        self.hidden = hidden

    def _search(self, space: SearchSpace, log: QueryLog, rng: np.random.Generator) -> None:
        controller = Controller(Decisions(space), hidden=self.hidden, seed=int(rng.integers(2**31)))
        learner = Reinforce(controller, **self.params)
        seen_in_a_row = 0
        while log.remaining:
            sample = controller.sample(rng)
            if log.seen(sample.arch):
                reward = log.score(sample.arch)
                seen_in_a_row += 1
                if seen_in_a_row >= _MAX_SEEN_DRAWS:
                    options = unseen_neighbours(space, log, sample.arch)
                    log.query([options[int(rng.integers(len(options)))]] if options
                              else sample_unseen(space, log, 1, rng))
                    seen_in_a_row = 0
            else:
                reward = float(log.query([sample.arch])[0])
                seen_in_a_row = 0
            learner.update([sample], [reward])
