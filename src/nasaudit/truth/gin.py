"""A graph isomorphism network (GIN) regressor over DARTS cells, the graph surrogate of NAS-Bench-301.

NAS-Bench-301 (Siems et al., 2020, Sec. 4; release automl/nasbench301 @ 58ca2cba,
``surrogate_models/gnn/models/gincnn.py`` and ``configs/model_configs/gnn/gnn_gin_configspace.json``) fits a
GIN on the op-on-node graphs of the normal and reduce cells: an embedding of each node's type, a stack of GIN
layers (Xu et al., 2019: ``h' = MLP((1 + eps) h + sum of the in-neighbours' h)``), mean pooling and a linear
head, trained with an L1 loss on standardised targets. This is our own dense implementation (no
torch_geometric): every cell of a space has the same number of nodes, so a batch is one adjacency tensor.
Each cell is pooled on its own and the two means are concatenated before the head. Small CPU defaults.
torch is imported inside the functions, so importing this module stays light.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from nasaudit.errors import DataError
from nasaudit.spaces.darts import CELL_TYPES, KNOWN_DARTS_OPS, DartsGenotype, DartsSpace

#: node types of a cell's op-on-node graph (``DartsSpace.to_networkx(form="node")``); each cell type has its own
NODE_LABELS: tuple[str, ...] = ("input", "add", "output", *KNOWN_DARTS_OPS)


@dataclass(frozen=True)
class CellGraphs:
    """A batch of genotypes as dense graphs: node type ``labels`` (B, N), ``adjacency`` (B, N, N) with
    ``adjacency[b, v, u] = 1`` for an edge ``u -> v``, and ``cell`` (N,), the cell type of each node."""

    labels: np.ndarray
    adjacency: np.ndarray
    cell: np.ndarray


def cell_graphs(space: DartsSpace, genotypes: list[DartsGenotype]) -> CellGraphs:
    """The op-on-node graphs of both cells of every genotype, as one batch (nodes in the space's order)."""
    if not genotypes:
        raise DataError("no genotypes to turn into cell graphs")
    rows_labels, rows_adjacency = [], []
    cell_of_node: list[int] = []
    for index, genotype in enumerate(genotypes):
        labels: list[int] = []
        blocks = []
        for c, cell_type in enumerate(CELL_TYPES):
            graph = space.to_networkx(genotype.cell(cell_type), "node")
            order = {node: k for k, node in enumerate(graph.nodes)}
            block = np.zeros((len(order), len(order)), dtype=np.float32)
            for u, v in graph.edges:
                block[order[v], order[u]] = 1.0
            blocks.append(block)
            labels.extend(c * len(NODE_LABELS) + NODE_LABELS.index(graph.nodes[n]["label"]) for n in graph.nodes)
            if index == 0:
                cell_of_node.extend([c] * len(order))
        size = sum(len(b) for b in blocks)
        if size != len(cell_of_node):
            raise DataError(f"genotype {index} has {size} graph nodes, the first one {len(cell_of_node)}")
        adjacency = np.zeros((size, size), dtype=np.float32)
        adjacency[:len(blocks[0]), :len(blocks[0])] = blocks[0]
        adjacency[len(blocks[0]):, len(blocks[0]):] = blocks[1]
        rows_labels.append(labels)
        rows_adjacency.append(adjacency)
    return CellGraphs(np.asarray(rows_labels, dtype=np.int64), np.stack(rows_adjacency),
                      np.asarray(cell_of_node, dtype=np.int64))


@dataclass(frozen=True)
class GINSettings:
    """GIN size and training (NB301's GIN: mean pooling, L1 loss; ours smaller for CPU)."""

    hidden: int = 32
    layers: int = 3
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float = 5e-3
    seed: int = 0


def _network(settings: GINSettings) -> Any:
    import torch
    from torch import nn

    class GIN(nn.Module):
        """Node-type embedding, GIN layers, per-cell mean pooling, MLP head."""

        def __init__(self) -> None:
            super().__init__()
            width = settings.hidden
            self.embed = nn.Embedding(len(CELL_TYPES) * len(NODE_LABELS), width)
            self.eps = nn.Parameter(torch.zeros(settings.layers))
            self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
                                      for _ in range(settings.layers))
            self.head = nn.Sequential(nn.Linear(len(CELL_TYPES) * width, width), nn.ReLU(), nn.Linear(width, 1))

        def forward(self, labels: torch.Tensor, adjacency: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
            h = self.embed(labels)
            for k, mlp in enumerate(self.mlps):
                h = torch.relu(mlp((1 + self.eps[k]) * h + adjacency @ h))
            pooled = [h[:, cell == c].mean(dim=1) for c in range(len(CELL_TYPES))]
            return self.head(torch.cat(pooled, dim=1)).squeeze(-1)

    return GIN()


class GINRegressor:
    """Fit and predict with the GIN above; the state with the best validation L1 error is kept."""

    def __init__(self, settings: GINSettings) -> None:
        self.settings = settings
        self._net: Any = None
        self._scale = (0.0, 1.0)

    def fit(self, train: CellGraphs, y: np.ndarray, val: CellGraphs, y_val: np.ndarray) -> GINRegressor:
        """Adam with cosine annealing, seeded init and batch order, one torch thread; returns ``self``."""
        import torch

        from nasaudit.train.loop import isolated_run

        y = np.asarray(y, dtype=np.float64)
        std = float(y.std())
        self._scale = (float(y.mean()), std if std > 0 else 1.0)
        with isolated_run(torch.device("cpu"), 1):
            torch.manual_seed(self.settings.seed)
            self._net = self._train(_network(self.settings), train, y, val, np.asarray(y_val, dtype=np.float64))
        return self

    def _train(self, net: Any, train: CellGraphs, y: np.ndarray, val: CellGraphs, y_val: np.ndarray) -> Any:
        import torch

        rng = np.random.default_rng(self.settings.seed)
        optimiser = torch.optim.Adam(net.parameters(), lr=self.settings.learning_rate)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=self.settings.epochs)
        target = torch.as_tensor((y - self._scale[0]) / self._scale[1], dtype=torch.float32)
        labels, adjacency, cell = _tensors(train)
        best, best_state = float("inf"), None
        for _ in range(self.settings.epochs):
            net.train()
            order = rng.permutation(len(y))
            for start in range(0, len(order), self.settings.batch_size):
                batch = torch.as_tensor(order[start:start + self.settings.batch_size])
                loss = torch.nn.functional.l1_loss(net(labels[batch], adjacency[batch], cell), target[batch])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            schedule.step()
            error = float(np.abs(self._forward(net, val) - y_val).mean())
            if error < best:
                best, best_state = error, {k: v.clone() for k, v in net.state_dict().items()}
        if best_state is None:
            raise DataError("the GIN's validation error is not a number: training diverged; lower learning_rate")
        net.load_state_dict(best_state)
        return net

    def predict(self, graphs: CellGraphs) -> np.ndarray:
        """Predicted scores (in the targets' units), with one torch thread."""
        import torch

        from nasaudit.train.loop import isolated_run

        if self._net is None:
            raise DataError("the GIN is not fitted")
        with isolated_run(torch.device("cpu"), 1):
            return self._forward(self._net, graphs)

    def _forward(self, net: Any, graphs: CellGraphs) -> np.ndarray:
        import torch

        net.eval()
        with torch.no_grad():
            out = net(*_tensors(graphs)).double().numpy()
        return np.asarray(out * self._scale[1] + self._scale[0], dtype=np.float64)

    def to_bytes(self) -> bytes:
        """Settings, target scale and weights, for ``from_bytes``."""
        import torch

        saved = {"settings": asdict(self.settings), "scale": self._scale, "state": self._net.state_dict()}
        torch.save(saved, buffer := io.BytesIO())  # in memory: the caller writes the bytes atomically
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> GINRegressor:
        """A fitted regressor saved by ``to_bytes``."""
        import torch

        saved = torch.load(io.BytesIO(data), weights_only=True)
        regressor = cls(GINSettings(**saved["settings"]))
        regressor._scale = (float(saved["scale"][0]), float(saved["scale"][1]))
        regressor._net = _network(regressor.settings)
        regressor._net.load_state_dict(saved["state"])
        return regressor


def _tensors(graphs: CellGraphs) -> tuple[Any, Any, Any]:
    import torch

    return (torch.as_tensor(graphs.labels), torch.as_tensor(graphs.adjacency), torch.as_tensor(graphs.cell))
