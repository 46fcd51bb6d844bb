"""The DARTS architecture step (Liu et al., 2019, Sec. 2.3): first order, and second order through one
unrolled weight step with the finite-difference Hessian-vector product of eq. 8.

The step minimises the validation loss over alpha. Second order: with ``w' = w - xi * (m + dL_train/dw
+ wd * w)`` (the SGD step with momentum ``m`` and weight decay ``wd``, as the DARTS code unrolls it),

    grad_alpha L_val(w', alpha) - xi * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)

where ``w+- = w +- eps * v``, ``v = dL_val(w', alpha)/dw'`` and ``eps = 0.01 / ||v||``. Weights are
changed in place and restored exactly from a copy, so no second model is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from nasaudit.errors import ConfigError

Loss = Callable[[], torch.Tensor]


def _flat_norm(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t) for t in tensors]))


def finite_difference_hvp(weights: Sequence[torch.Tensor], alphas: Sequence[torch.Tensor], loss: Loss,
                          vector: Sequence[torch.Tensor], eps_scale: float = 0.01) -> list[torch.Tensor]:
    """``d^2 loss / (d alpha d w) . vector`` by central differences with ``eps = eps_scale / ||vector||``
    (DARTS eq. 8). ``loss`` reads the current values of ``weights``, which are restored on return."""
    backup = [w.detach().clone() for w in weights]
    eps = eps_scale / float(_flat_norm(vector))
    grads: list[list[torch.Tensor]] = []
    try:
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for w, b, v in zip(weights, backup, vector, strict=True):
                    w.copy_(b + sign * eps * v)
            grads.append([g.detach() for g in torch.autograd.grad(loss(), list(alphas))])
    finally:
        with torch.no_grad():
            for w, b in zip(weights, backup, strict=True):
                w.copy_(b)
    return [(p - n) / (2.0 * eps) for p, n in zip(grads[0], grads[1], strict=True)]


def unrolled_alpha_grad(weights: Sequence[torch.Tensor], alphas: Sequence[torch.Tensor], train_loss: Loss,
                        val_loss: Loss, lr: float, *, momentum: Sequence[torch.Tensor | None] | None = None,
                        weight_decay: Sequence[float] | None = None, eps_scale: float = 0.01
                        ) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The second-order alpha gradient of the module doc and the validation loss at ``w'``.
    ``momentum`` holds the optimiser's momentum term per weight (``None``: none yet)."""
    n = len(weights)
    moms = list(momentum) if momentum is not None else [None] * n
    decays = list(weight_decay) if weight_decay is not None else [0.0] * n
    grads = torch.autograd.grad(train_loss(), list(weights), allow_unused=True, materialize_grads=True)
    backup = [w.detach().clone() for w in weights]
    try:
        with torch.no_grad():
            for w, g, m, wd in zip(weights, grads, moms, decays, strict=True):
                step = g + wd * w if m is None else m + g + wd * w
                w.sub_(lr * step)
        loss = val_loss()
        all_grads = torch.autograd.grad(loss, [*alphas, *weights], allow_unused=True, materialize_grads=True)
    finally:
        with torch.no_grad():
            for w, b in zip(weights, backup, strict=True):
                w.copy_(b)
    d_alpha = [g.detach() for g in all_grads[:len(alphas)]]
    vector = [g.detach() for g in all_grads[len(alphas):]]
    hvp = finite_difference_hvp(weights, alphas, train_loss, vector, eps_scale)
    return [da - lr * h for da, h in zip(d_alpha, hvp, strict=True)], loss.detach()


class Architect:
    """Adam on alpha (DARTS: LR 3e-4, betas (0.5, 0.999), weight decay 1e-3), one step per call."""

    def __init__(self, alphas: Sequence[torch.nn.Parameter], weight_optimizer: torch.optim.SGD, *, lr: float,
                 betas: tuple[float, float], weight_decay: float, second_order: bool) -> None:
        self.alphas = list(alphas)
        self.weight_optimizer = weight_optimizer
        self.optimizer = torch.optim.Adam(self.alphas, lr=lr, betas=betas, weight_decay=weight_decay)
        self.second_order = second_order

    def _momentum(self, weights: Sequence[torch.Tensor]) -> tuple[list[torch.Tensor | None], list[float]]:
        factor = {id(p): g["momentum"] for g in self.weight_optimizer.param_groups for p in g["params"]}
        decay = {id(p): g["weight_decay"] for g in self.weight_optimizer.param_groups for p in g["params"]}
        moms: list[torch.Tensor | None] = []
        for w in weights:
            buffer = self.weight_optimizer.state.get(w, {}).get("momentum_buffer")
            moms.append(None if buffer is None else buffer * factor[id(w)])
        return moms, [float(decay[id(w)]) for w in weights]

    def step(self, val_loss: Loss, train_loss: Loss | None = None, lr: float = 0.0) -> float:
        """One alpha update; second order needs ``train_loss`` and the weights' current ``lr``."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.second_order:
            if train_loss is None:
                raise ConfigError("the second-order architecture step needs the training loss")
            weights = [p for g in self.weight_optimizer.param_groups for p in g["params"]]
            moms, decays = self._momentum(weights)
            grads, loss = unrolled_alpha_grad(weights, self.alphas, train_loss, val_loss, lr, momentum=moms,
                                              weight_decay=decays)
        else:
            loss = val_loss()
            grads = [g.detach() for g in torch.autograd.grad(loss, self.alphas)]
            loss = loss.detach()
        for a, g in zip(self.alphas, grads, strict=True):
            a.grad = g
        self.optimizer.step()
        return float(loss)
