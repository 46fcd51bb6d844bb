"""Gradient variance (architectures paper Sec. 4.2.2, Figs. 7-8, App. B.4; Ghadimi & Lan, 2013).

The paper defines the gradient variance as ``Var(grad f_i(w))`` over training instances ``i`` and plots
``g(alpha, beta) = Var(grad f_i(w* + alpha w1 + beta w2))`` on the loss-landscape plane (Sec. 4.2.1).
Here, exactly: the data subset is split by a seeded permutation into ``K = N // batch_size`` disjoint
mini-batches (the remainder is dropped); ``G_k`` is the gradient of the mean cross-entropy on batch
``k``; for every parameter entry ``p`` the unbiased variance over batches is
``v_p = 1/(K-1) sum_k (G_kp - mean_k G_kp)^2``. ``variance`` is ``mean_p v_p`` and ``total`` is
``sum_p v_p``, the estimate of ``E||G - E G||^2`` bounded in Theorem 4.3. ``batch_size=1`` is the
paper's per-instance definition. The model runs in eval mode (batch norm on running statistics) so
that every gradient is that of a fixed function. Per-batch gradients are computed with
``torch.func.grad`` vmapped over chunks of mini-batches (about 4x faster than one backward pass per batch
on CPU, ``benchmarks/bench_dynamics.py``); ``method="auto"`` falls back to that loop if the model cannot be
vmapped and ``method="loop"`` forces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from nasaudit.dynamics.functional import EvalData, Params, eval_mode, logits, torch_seed, weights
from nasaudit.dynamics.landscape import Method, _grid, _moved, directions
from nasaudit.errors import ConfigError, DataError
from nasaudit.seeding import SeedLike

#: mini-batches per vmapped gradient call
DEFAULT_GRAD_CHUNK = 32


@dataclass(frozen=True)
class GradientVariance:
    """Mean (over parameter entries) and total per-entry variance of mini-batch gradients (Sec. 4.2.2)."""

    variance: float
    total: float
    n_batches: int
    batch_size: int
    n_parameters: int


@dataclass(frozen=True)
class GradientVarianceSurface:
    """``g(alpha, beta)`` on the loss-landscape plane; ``variance[i, j]`` is at ``(alphas[i], betas[j])``."""

    alphas: np.ndarray
    betas: np.ndarray
    variance: np.ndarray
    total: np.ndarray

    def table(self) -> pd.DataFrame:
        """Columns ``alpha, beta, variance, total, std`` (``std = sqrt(variance)``, as Figs. 7-8 plot)."""
        a, b = np.meshgrid(self.alphas, self.betas, indexing="ij")
        return pd.DataFrame({"alpha": a.ravel(), "beta": b.ravel(), "variance": self.variance.ravel(),
                             "total": self.total.ravel(), "std": np.sqrt(self.variance.ravel())})


def _batches(data: EvalData, batch_size: int, seed: SeedLike) -> tuple[torch.Tensor, torch.Tensor]:
    if batch_size < 1:
        raise ConfigError(f"batch_size must be positive, got {batch_size}")
    k = len(data) // batch_size
    if k < 2:
        raise DataError(f"gradient variance needs at least 2 mini-batches; {len(data)} images make {k} of "
                        f"size {batch_size}")
    gen = torch.Generator().manual_seed(torch_seed(seed))
    order = torch.randperm(len(data), generator=gen)[:k * batch_size]
    xs = data.x[order].reshape(k, batch_size, *data.x.shape[1:])
    return xs, data.y[order].reshape(k, batch_size)


class _Welford:
    """Chan et al.'s pairwise merge of per-chunk means and squared deviations, in float64."""

    def __init__(self) -> None:
        self.n = 0
        self.mean: Params = {}
        self.m2: Params = {}

    def add(self, grads: Params) -> None:
        n_b = next(iter(grads.values())).shape[0]
        for name, g in grads.items():
            g = g.double().flatten(1)
            mean_b = g.mean(0)
            m2_b = ((g - mean_b) ** 2).sum(0)
            if self.n == 0:
                self.mean[name], self.m2[name] = mean_b, m2_b
            else:
                delta = mean_b - self.mean[name]
                total = self.n + n_b
                self.mean[name] = self.mean[name] + delta * (n_b / total)
                self.m2[name] = self.m2[name] + m2_b + delta ** 2 * (self.n * n_b / total)
        self.n += n_b

    def result(self, batch_size: int) -> GradientVariance:
        per_entry = torch.cat([m2 / (self.n - 1) for m2 in self.m2.values()])
        return GradientVariance(float(per_entry.mean()), float(per_entry.sum()), self.n, batch_size,
                                int(per_entry.numel()))


def _variance_at(model: nn.Module, params: Params, buffers: Params, xs: torch.Tensor, ys: torch.Tensor,
                 method: Method, chunk: int) -> GradientVariance:
    acc = _Welford()
    if method != "loop":
        def batch_loss(p: Params, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(logits(model, p, buffers, xb), yb)

        per_batch = torch.vmap(torch.func.grad(batch_loss), in_dims=(None, 0, 0))
        try:
            for start in range(0, len(xs), chunk):
                acc.add(per_batch(params, xs[start:start + chunk], ys[start:start + chunk]))
            return acc.result(xs.shape[1])
        except (RuntimeError, NotImplementedError):
            if method == "vmap":
                raise
            acc = _Welford()
    leaves = {k: p.detach().clone().requires_grad_(True) for k, p in params.items()}
    for k in range(len(xs)):
        loss = F.cross_entropy(logits(model, leaves, buffers, xs[k]), ys[k])
        grads = torch.autograd.grad(loss, list(leaves.values()))
        acc.add({name: g.unsqueeze(0) for name, g in zip(leaves, grads, strict=True)})
    return acc.result(xs.shape[1])


def gradient_variance(model: nn.Module, data: EvalData, batch_size: int = 1, seed: SeedLike = 0, *,
                      method: Method = "auto", chunk: int = DEFAULT_GRAD_CHUNK) -> GradientVariance:
    """The gradient variance at the model's current (trained) weights, as defined in the module doc."""
    return gradient_variance_at(model, data, [], np.zeros((1, 0)), batch_size, seed, method=method, chunk=chunk)[0]


def gradient_variance_at(model: nn.Module, data: EvalData, dirs: Sequence[Params], coefficients: np.ndarray,
                         batch_size: int = 1, seed: SeedLike = 0, *, method: Method = "auto",
                         chunk: int = DEFAULT_GRAD_CHUNK) -> list[GradientVariance]:
    """The gradient variance at ``w* + sum_k c_k d_k`` for each row ``c`` of ``coefficients``; the same
    seeded mini-batch partition serves every point."""
    coefs = np.asarray(coefficients, dtype=np.float64)
    if coefs.ndim != 2 or coefs.shape[1] != len(dirs):
        raise ConfigError(f"coefficients must have shape (points, {len(dirs)}), got {coefs.shape}")
    if chunk < 1:
        raise ConfigError(f"chunk must be positive, got {chunk}")
    if method not in ("auto", "vmap", "loop"):
        raise ConfigError(f"method must be 'auto', 'vmap' or 'loop', got {method!r}")
    xs, ys = _batches(data, batch_size, seed)
    with eval_mode(model):
        params, buffers = weights(model)
        ref = next(iter(params.values()))
        xs, ys = xs.to(ref.device), ys.to(ref.device)
        c = torch.as_tensor(coefs, dtype=ref.dtype, device=ref.device)
        return [_variance_at(model, _moved(params, dirs, c[i]) if dirs else params, buffers, xs, ys, method, chunk)
                for i in range(len(c))]


def gradient_variance_surface(model: nn.Module, data: EvalData, alphas: Sequence[float] | np.ndarray,
                              betas: Sequence[float] | np.ndarray, seed: SeedLike, *, batch_size: int = 1,
                              partition_seed: SeedLike = 0, method: Method = "auto",
                              chunk: int = DEFAULT_GRAD_CHUNK) -> GradientVarianceSurface:
    """``g(alpha, beta)`` (Sec. 4.2.2) on the plane of ``loss_surface_2d`` with the same ``seed``."""
    a, b = _grid(alphas, "alphas"), _grid(betas, "betas")
    grid = np.stack(np.meshgrid(a, b, indexing="ij"), axis=-1).reshape(-1, 2)
    results = gradient_variance_at(model, data, directions(model, 2, seed), grid, batch_size, partition_seed,
                                   method=method, chunk=chunk)
    shape = (len(a), len(b))
    return GradientVarianceSurface(a, b, np.array([r.variance for r in results]).reshape(shape),
                                   np.array([r.total for r in results]).reshape(shape))
