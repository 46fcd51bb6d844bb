"""What a zero-cost proxy is: a score of an untrained network from one batch, higher = predicted better.

Every proxy is ``score(stack, batch, loss) -> np.ndarray``: one value per network of a ``Stack`` (one plain
network, or many NB201 networks fused into one module, ``_stack.py``), so the same code scores one cell (the
per-cell loop) and thousands at once (batched). ``score_network`` is the single-network form
``(network, batch, loss) -> float``. Proxies register in ``PROXIES`` beside their definitions; plugins add
their own the same way (entry-point group ``nasaudit.proxies``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nasaudit.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

    from nasaudit.proxies._stack import Stack

#: the loss of the gradient proxies: ``loss(logits (B, K), labels (B,)) -> scalar`` (cross-entropy by default)
Loss = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]


@dataclass(frozen=True)
class Batch:
    """One standardised batch of images ``x`` (B, C, H, W; float32) and labels ``y`` (B,; int64), drawn with
    ``seed`` (proxies that draw random inputs of their own, Zen-score, draw them from it)."""

    x: torch.Tensor
    y: torch.Tensor
    seed: int = 0


@dataclass(frozen=True)
class Proxy:
    """A registered proxy: ``score`` gives one value per network of a stack (higher = predicted better);
    ``paper`` names the paper section and ``reference`` the authors' release it follows."""

    name: str
    score: Callable[[Stack, Batch, Loss], np.ndarray]
    paper: str
    reference: str


def proxy_contract(name: str, entry: object) -> str | None:
    """Why ``entry`` cannot be the proxy ``name`` (a ``Proxy`` of that name with a callable score), or None."""
    if not isinstance(entry, Proxy):
        return f"expected a Proxy, got {type(entry).__name__}"
    if entry.name != name:
        return f"its name is {entry.name!r}"
    return None if callable(entry.score) else "its score is not callable"


PROXIES: Registry[Proxy] = Registry("proxy", check=proxy_contract)


def register_proxy(name: str, paper: str, reference: str
                   ) -> Callable[[Callable[[Any, Batch, Loss], Any]], Callable[[Any, Batch, Loss], Any]]:
    """Decorator registering ``score(stack, batch, loss)`` as the proxy ``name``."""

    def decorate(score: Callable[[Any, Batch, Loss], Any]) -> Callable[[Any, Batch, Loss], Any]:
        PROXIES.add(name, Proxy(name, score, paper, reference), paper)
        return score

    return decorate


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The default loss (zero-cost-nas ``F.cross_entropy``, mean over the batch)."""
    import torch.nn.functional as F

    return F.cross_entropy(logits, labels)


def score_network(proxy: str, network: nn.Module, batch: Batch, loss: Loss = cross_entropy) -> float:
    """The proxy ``proxy`` of one network (its weights are left as they were)."""
    from nasaudit.proxies._stack import Stack

    return float(PROXIES.get(proxy).score(Stack.single(network), batch, loss)[0])
