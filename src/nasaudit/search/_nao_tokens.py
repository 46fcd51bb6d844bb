"""Architectures as the token sequences NAO's encoder reads and its decoder writes (Luo et al. 2018, Sec. 3.1;
renqianluo/NAO_pytorch@418ff717e6a6e9b22ec163fd4d21f2f8013f03c5, ``NAO_V1/utils.py`` ``parse_arch_to_seq``).

Token 0 is the decoder's start symbol (the release's ``SOS_ID``); the choices are 1, 2, ... per family:

* NB201: the op of each of the six edges (one token each).
* DARTS cells: per cell (normal, then reduce), per intermediate node, ``input, op, input, op`` (the release's
  ``prev_node + 1, op + 7`` order; inputs are tokens ``1..n_nodes + 1``, ops follow). The encoder reads them in
  (input, op) pairs (``group`` 2: the release's ``source_length`` 40 over ``encoder_length`` 20).
* NB101 cells (the search-phase paper's App. C.6 NAO on NASBench): per vertex ``j = 1..n-1`` its op (interior
  vertices) and then one bit token per earlier vertex ``i`` (edge ``i -> j`` or not); a cell of fewer vertices is
  padded with unconnected vertices before the output, which pruning removes again.
* RNN cells (renqianluo/NAO@db751a0 ``NAO-WS/rnn/utils.py`` ``parse_arch_to_seq``): per node ``predecessor, activation``
  (predecessors 0..n-1 are tokens ``1..n``, activations follow), read in pairs (``train_search.sh``: ``source_length``
  22 over ``encoder_length`` 11).

``allowed(prefix)`` is what the decoder may write next: the release restricts each position to its kind (an
input index below the node, or an op); ours also keeps a node's two inputs apart and an op on the edges allowing
it (DARTS), at most ``max_edges`` edges (NB101), and in a reduced space (``SubsetSpace``, up to
``MAX_TREE_MEMBERS`` members) only prefixes that some member completes, so every decoded sequence is a member;
elsewhere a decoded sequence that is not a member of the space is dropped.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from nasaudit.errors import ArchitectureError, ConfigError
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.darts import CELL_TYPES, DartsCell, DartsGenotype, DartsSpace
from nasaudit.spaces.nb101 import INPUT, OUTPUT, NB101Arch, NB101Space
from nasaudit.spaces.nb201 import NB201_EDGES, NB201Arch
from nasaudit.spaces.rnn import RNNGenotype, RNNSpace
from nasaudit.spaces.subset import PartOfSpace, SubsetSpace

#: the decoder's start symbol (the release's SOS_ID)
SOS = 0
#: reduced spaces of up to this many members get a prefix tree; in larger ones a decoded non-member is dropped
MAX_TREE_MEMBERS = 20_000
Tokens = tuple[int, ...]


class TokenCodec(ABC):
    """A space's architectures as sequences of ``length`` tokens from ``1..vocab - 1`` (module doc)."""

    #: tokens per sequence
    length: int
    #: size of the vocabulary, the start symbol 0 included
    vocab: int
    #: consecutive tokens the encoder reads as one step
    group: int = 1

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self._tree: dict[Tokens, list[int]] | None = None
        if isinstance(space, SubsetSpace) and len(space.members) <= MAX_TREE_MEMBERS:
            tree: dict[Tokens, set[int]] = {}
            for member in space.members:
                tokens = self.encode(member)
                for depth in range(self.length):
                    tree.setdefault(tokens[:depth], set()).add(tokens[depth])
            self._tree = {prefix: sorted(options) for prefix, options in tree.items()}

    @abstractmethod
    def encode(self, arch: Any) -> Tokens:
        """The tokens of ``arch``, a member of the space."""

    @abstractmethod
    def _decode(self, tokens: Tokens) -> Any:
        """The architecture ``tokens`` describe; ``ArchitectureError`` if none."""

    @abstractmethod
    def _allowed(self, prefix: Tokens) -> list[int]:
        """The tokens the structure allows after ``prefix``."""

    def decode(self, tokens: Sequence[int]) -> Any | None:
        """The member of the space ``tokens`` describe, or None if they describe none."""
        try:
            arch = self._decode(tuple(int(t) for t in tokens))
        except ArchitectureError:
            return None
        return arch if self.space.contains(arch) else None

    def allowed(self, prefix: Sequence[int]) -> list[int]:
        """The tokens the decoder may write after ``prefix`` (module doc)."""
        key = tuple(prefix)
        return self._tree.get(key, []) if self._tree is not None else self._allowed(key)

    def augment(self, tokens: Tokens, rng: np.random.Generator) -> Tokens:
        """The same architecture written another way (the release's ``swap`` augmentation); itself by default."""
        return tokens


class NB201Tokens(TokenCodec):
    """One op token per NB201 edge."""

    group = 1

    def __init__(self, space: SearchSpace) -> None:
        self.ops = tuple(space.ops)
        self.length, self.vocab = len(NB201_EDGES), len(self.ops) + 1
        super().__init__(space)

    def encode(self, arch: NB201Arch) -> Tokens:
        return tuple(self.ops.index(op) + 1 for op in arch.ops)

    def _decode(self, tokens: Tokens) -> NB201Arch:
        return NB201Arch(tuple(self.ops[t - 1] for t in tokens))

    def _allowed(self, prefix: Tokens) -> list[int]:
        return list(range(1, self.vocab))


class DartsTokens(TokenCodec):
    """``input, op, input, op`` per node, normal cell then reduce cell (module doc)."""

    group = 2

    def __init__(self, space: DartsSpace) -> None:
        darts = space.base if isinstance(space, PartOfSpace) else space
        assert isinstance(darts, DartsSpace)
        self.darts: DartsSpace = darts
        self.nodes, self.ops = self.darts.n_nodes, tuple(self.darts.ops)
        self.first_op = self.nodes + 2  # inputs 0..nodes+1 are tokens 1..nodes+1
        self.length, self.vocab = 2 * 4 * self.nodes, self.first_op + len(self.ops)
        super().__init__(space)

    def encode(self, arch: DartsGenotype) -> Tokens:
        tokens: list[int] = []
        for cell_type in CELL_TYPES:
            for op, src in arch.cell(cell_type).edges:
                tokens += [src + 1, self.first_op + self.ops.index(op)]
        return tuple(tokens)

    def _decode(self, tokens: Tokens) -> DartsGenotype:
        cells = []
        half = self.length // 2
        for c in range(2):
            part = tokens[c * half:(c + 1) * half]
            if any(not 1 <= part[k] < self.first_op or not self.first_op <= part[k + 1] < self.vocab
                   for k in range(0, half, 2)):
                raise ArchitectureError("DARTS tokens out of place")
            edges = tuple((self.ops[part[k + 1] - self.first_op], part[k] - 1) for k in range(0, half, 2))
            cells.append(DartsCell(edges, self.darts.concat))
        return DartsGenotype(cells[0], cells[1])

    def _allowed(self, prefix: Tokens) -> list[int]:
        p = len(prefix)
        cell_type = CELL_TYPES[p // (4 * self.nodes)]
        node, slot = (p % (4 * self.nodes)) // 4, p % 4
        if slot in (0, 2):
            taken = {prefix[-2]} if slot == 2 else set()
            return [src + 1 for src in range(node + 2) if src + 1 not in taken]
        src = prefix[-1] - 1
        return [self.first_op + self.ops.index(op) for op in self.darts.selectable(cell_type, node, src)]

    def augment(self, tokens: Tokens, rng: np.random.Generator) -> Tokens:
        """One random node of each cell with its two (input, op) pairs swapped (the release's ``swap``)."""
        out = list(tokens)
        for c in range(2):
            start = c * 4 * self.nodes + 4 * int(rng.integers(self.nodes))
            out[start:start + 4] = out[start + 2:start + 4] + out[start:start + 2]
        return tuple(out)


class NB101Tokens(TokenCodec):
    """Per vertex ``j = 1..n-1``: its op (interior vertices), then a bit token per earlier vertex (module doc)."""

    group = 1

    def __init__(self, space: NB101Space) -> None:
        base = space.base if isinstance(space, PartOfSpace) else space
        assert isinstance(base, NB101Space)
        self.n, self.max_edges, self.ops = base.max_vertices, base.max_edges, tuple(base.ops)
        self.no_edge, self.edge = len(self.ops) + 1, len(self.ops) + 2
        #: what each position holds: ("op", j) or ("edge", i, j)
        self.slots: list[tuple[int, ...]] = []
        for j in range(1, self.n):
            if j < self.n - 1:
                self.slots.append((j,))
            self.slots += [(i, j) for i in range(j)]
        self.length, self.vocab = len(self.slots), len(self.ops) + 3
        super().__init__(space)

    def _padded(self, arch: NB101Arch) -> tuple[np.ndarray, list[str]]:
        k = arch.n_vertices
        where = [*range(k - 1), self.n - 1]  # interior vertices keep their place, the output goes last
        matrix = np.zeros((self.n, self.n), dtype=np.int64)
        matrix[np.ix_(where, where)] = arch.array()
        ops = [self.ops[0]] * self.n
        for old, new in enumerate(where):
            ops[new] = arch.ops[old]
        return matrix, ops

    def encode(self, arch: NB101Arch) -> Tokens:
        matrix, ops = self._padded(arch)
        return tuple(self.ops.index(ops[s[0]]) + 1 if len(s) == 1 else (self.edge if matrix[s] else self.no_edge)
                     for s in self.slots)

    def _decode(self, tokens: Tokens) -> NB101Arch:
        matrix = np.zeros((self.n, self.n), dtype=np.int64)
        ops = [INPUT, *[self.ops[0]] * (self.n - 2), OUTPUT]
        for slot, token in zip(self.slots, tokens, strict=True):
            if len(slot) == 1:
                if not 1 <= token <= len(self.ops):
                    raise ArchitectureError("NB101 op token out of place")
                ops[slot[0]] = self.ops[token - 1]
            elif token not in (self.edge, self.no_edge):
                raise ArchitectureError("NB101 edge token out of place")
            else:
                matrix[slot] = int(token == self.edge)
        return NB101Arch.from_spec(matrix, ops)

    def _allowed(self, prefix: Tokens) -> list[int]:
        slot = self.slots[len(prefix)]
        if len(slot) == 1:
            return list(range(1, len(self.ops) + 1))
        edges = sum(1 for t, s in zip(prefix, self.slots, strict=False) if len(s) == 2 and t == self.edge)
        return [self.no_edge, self.edge] if edges < self.max_edges else [self.no_edge]


class RNNTokens(TokenCodec):
    """``predecessor, activation`` per node (module doc)."""

    group = 2

    def __init__(self, space: SearchSpace) -> None:
        base = space.base if isinstance(space, PartOfSpace) else space
        assert isinstance(base, RNNSpace)
        self.rnn: RNNSpace = base
        self.nodes, self.ops = base.n_nodes, tuple(base.ops)
        self.first_op = self.nodes + 1  # predecessors 0..nodes-1 are tokens 1..nodes
        self.length, self.vocab = 2 * self.nodes, self.first_op + len(self.ops)
        super().__init__(space)

    def encode(self, arch: RNNGenotype) -> Tokens:
        tokens: list[int] = []
        for act, pred in arch.recurrent:
            tokens += [pred + 1, self.first_op + self.ops.index(act)]
        return tuple(tokens)

    def _decode(self, tokens: Tokens) -> RNNGenotype:
        nodes = []
        for k in range(0, self.length, 2):
            pred, act = tokens[k] - 1, tokens[k + 1] - self.first_op
            if not 0 <= pred <= k // 2 or not 0 <= act < len(self.ops):
                raise ArchitectureError("RNN tokens out of place")
            nodes.append((self.ops[act], pred))
        return self.rnn.genotype(nodes)

    def _allowed(self, prefix: Tokens) -> list[int]:
        p = len(prefix)
        if p % 2 == 0:  # node p // 2 + 1 reads node 0 .. p // 2
            return list(range(1, p // 2 + 2))
        return list(range(self.first_op, self.vocab))


def make_codec(space: SearchSpace) -> TokenCodec:
    """The token codec of ``space``'s family (module doc)."""
    if space.family == "nb201":
        return NB201Tokens(space)
    if space.family == "darts":
        return DartsTokens(space)  # type: ignore[arg-type]
    if space.family == "nb101":
        return NB101Tokens(space)  # type: ignore[arg-type]
    if space.family == "rnn":
        return RNNTokens(space)
    raise ConfigError(f"NAO writes NB201, DARTS, NB101 or RNN cells as tokens, not {space.name!r} cells")
