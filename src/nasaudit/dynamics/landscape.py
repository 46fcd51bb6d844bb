"""Loss landscapes around trained weights (Li et al., 2018; architectures paper Sec. 4.2.1, Fig. 6).

``s(alpha, beta) = E_i[f_i(w* + alpha d1 + beta d2)]`` on a fixed data subset, with ``d1, d2`` random
Gaussian directions *filter-normalised* as in Li et al. (Sec. 4): each filter of a convolution (each
output row of a linear layer) is rescaled to the norm of the same filter of ``w*``; biases and batch-norm
parameters (every parameter of one dimension or less) are zero in the direction ("ignore BN"), and the
model runs in eval mode so batch norm uses its running statistics. Grid points are evaluated either in
chunks with ``torch.vmap`` over ``torch.func.functional_call`` (no Python loop over points or images) or
one point at a time over image batches. Measured on CPU (``benchmarks/bench_dynamics.py``) the per-point
loop is faster (vmap turns each convolution into a grouped one), so ``method="auto"`` loops on CPU and
vmaps on CUDA, falling back to the loop when the model cannot be vmapped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from nasaudit.dynamics.functional import EvalData, Params, eval_mode, logits, torch_seed, weights
from nasaudit.errors import ConfigError
from nasaudit.seeding import SeedLike

Method = Literal["auto", "vmap", "loop"]
#: grid points per vmapped chunk and images per forward pass (bounds memory: chunk x batch activations)
DEFAULT_CHUNK = 8
DEFAULT_BATCH = 256


def filter_normalized_direction(model: nn.Module, seed: SeedLike) -> Params:
    """One random direction in weight space, filter-normalised (Li et al., 2018, Sec. 4).

    Drawn from a standard normal with a torch Generator seeded by ``seed`` in parameter order; for every
    parameter with two or more dimensions, slice ``i`` along dim 0 is scaled to ``||w_i|| / ||d_i||``;
    parameters with fewer dimensions (biases, batch-norm scales and shifts) are zero.
    """
    params, _ = weights(model)
    gen = torch.Generator().manual_seed(torch_seed(seed))
    direction: Params = {}
    for name, w in params.items():
        d = torch.randn(w.shape, generator=gen, dtype=w.dtype).to(w.device)
        if w.dim() <= 1:
            direction[name] = torch.zeros_like(w)
            continue
        w_norm = w.flatten(1).norm(dim=1)
        d_norm = d.flatten(1).norm(dim=1).clamp_min(torch.finfo(w.dtype).tiny)
        direction[name] = d * (w_norm / d_norm).view(-1, *([1] * (w.dim() - 1)))
    return direction


def directions(model: nn.Module, n: int, seed: SeedLike) -> list[Params]:
    """``n`` filter-normalised directions, the ``k``-th seeded from ``(seed, k)``: reproducible, independent,
    and the first direction of a 2-D plane is the direction of the 1-D curve with the same seed."""
    base = torch_seed(seed)
    seeds = [int(np.random.SeedSequence([base, k]).generate_state(1, dtype=np.uint64)[0] >> np.uint64(2))
             for k in range(n)]
    return [filter_normalized_direction(model, s) for s in seeds]


@dataclass(frozen=True)
class Surface1D:
    """Loss and accuracy (%) along ``w* + alpha d`` (Li et al. Sec. 4, 1-D plot)."""

    alphas: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray

    def table(self) -> pd.DataFrame:
        """Columns ``alpha, loss, accuracy``."""
        return pd.DataFrame({"alpha": self.alphas, "loss": self.loss, "accuracy": self.accuracy})


@dataclass(frozen=True)
class Surface2D:
    """Loss and accuracy (%) on the plane ``w* + alpha d1 + beta d2``; ``loss[i, j]`` is at
    ``(alphas[i], betas[j])``."""

    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray

    def table(self) -> pd.DataFrame:
        """Columns ``alpha, beta, loss, accuracy``, one row per grid point (alpha-major)."""
        a, b = np.meshgrid(self.alphas, self.betas, indexing="ij")
        return pd.DataFrame({"alpha": a.ravel(), "beta": b.ravel(), "loss": self.loss.ravel(),
                             "accuracy": self.accuracy.ravel()})


def evaluate_points(model: nn.Module, data: EvalData, dirs: Sequence[Params], coefficients: np.ndarray,
                    method: Method = "auto", chunk: int = DEFAULT_CHUNK,
                    batch_size: int = DEFAULT_BATCH) -> tuple[np.ndarray, np.ndarray]:
    """Mean cross-entropy and accuracy (%) of ``model`` at ``w* + sum_k c_k d_k`` for each row ``c`` of
    ``coefficients`` (shape ``(points, len(dirs))``), on all of ``data``, in eval mode.

    ``method="vmap"`` evaluates ``chunk`` points at once with ``torch.vmap``; ``"loop"`` one point at a
    time; ``"auto"`` loops on CPU and vmaps elsewhere, falling back to the loop if vmap fails.
    """
    coefs = np.asarray(coefficients, dtype=np.float64)
    if coefs.ndim != 2 or coefs.shape[1] != len(dirs):
        raise ConfigError(f"coefficients must have shape (points, {len(dirs)}), got {coefs.shape}")
    if method not in ("auto", "vmap", "loop"):
        raise ConfigError(f"method must be 'auto', 'vmap' or 'loop', got {method!r}")
    if chunk < 1 or batch_size < 1:
        raise ConfigError(f"chunk and batch_size must be positive, got {chunk} and {batch_size}")
    with eval_mode(model), torch.no_grad():
        params, buffers = weights(model)
        device = next(iter(params.values())).device
        x, y = data.x.to(device), data.y.to(device)
        c = torch.as_tensor(coefs, dtype=next(iter(params.values())).dtype, device=device)
        if method == "vmap" or (method == "auto" and device.type != "cpu"):
            try:
                return _evaluate_vmap(model, params, buffers, dirs, c, x, y, chunk, batch_size)
            except (RuntimeError, NotImplementedError):
                if method == "vmap":
                    raise
        return _evaluate_loop(model, params, buffers, dirs, c, x, y, batch_size)


def _moved(params: Params, dirs: Sequence[Params], c: torch.Tensor) -> Params:
    out = {}
    for name, w in params.items():
        shift = sum(c[k] * d[name] for k, d in enumerate(dirs))
        out[name] = w + shift
    return out


def _evaluate_vmap(model: nn.Module, params: Params, buffers: Params, dirs: Sequence[Params], c: torch.Tensor,
                   x: torch.Tensor, y: torch.Tensor, chunk: int, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    def stats(point: torch.Tensor, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = logits(model, _moved(params, dirs, point), buffers, xb)
        return F.cross_entropy(out, yb, reduction="sum"), (out.argmax(1) == yb).sum()

    batched = torch.vmap(stats, in_dims=(0, None, None))
    loss_sum = torch.zeros(len(c), dtype=torch.float64, device=c.device)
    correct = torch.zeros(len(c), dtype=torch.float64, device=c.device)
    for start in range(0, len(c), chunk):
        for b in range(0, len(y), batch_size):
            l_sum, n_ok = batched(c[start:start + chunk], x[b:b + batch_size], y[b:b + batch_size])
            loss_sum[start:start + chunk] += l_sum.double()
            correct[start:start + chunk] += n_ok.double()
    return (loss_sum / len(y)).cpu().numpy(), (100.0 * correct / len(y)).cpu().numpy()


def _evaluate_loop(model: nn.Module, params: Params, buffers: Params, dirs: Sequence[Params], c: torch.Tensor,
                   x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    loss, acc = np.zeros(len(c)), np.zeros(len(c))
    for i in range(len(c)):
        moved = _moved(params, dirs, c[i])
        l_sum, n_ok = 0.0, 0
        for b in range(0, len(y), batch_size):
            out = logits(model, moved, buffers, x[b:b + batch_size])
            l_sum += float(F.cross_entropy(out.double(), y[b:b + batch_size], reduction="sum"))
            n_ok += int((out.argmax(1) == y[b:b + batch_size]).sum())
        loss[i], acc[i] = l_sum / len(y), 100.0 * n_ok / len(y)
    return loss, acc


def _grid(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all():
        raise ConfigError(f"{name} must be a non-empty 1-D sequence of finite numbers")
    return arr


def loss_surface_1d(model: nn.Module, data: EvalData, alphas: Sequence[float] | np.ndarray, seed: SeedLike, *,
                    method: Method = "auto", chunk: int = DEFAULT_CHUNK,
                    batch_size: int = DEFAULT_BATCH) -> Surface1D:
    """Loss and accuracy along one filter-normalised direction drawn from ``seed`` (Li et al. Sec. 4)."""
    a = _grid(alphas, "alphas")
    loss, acc = evaluate_points(model, data, directions(model, 1, seed), a[:, None], method, chunk, batch_size)
    return Surface1D(a, loss, acc)


def loss_surface_2d(model: nn.Module, data: EvalData, alphas: Sequence[float] | np.ndarray,
                    betas: Sequence[float] | np.ndarray, seed: SeedLike, *, method: Method = "auto",
                    chunk: int = DEFAULT_CHUNK, batch_size: int = DEFAULT_BATCH) -> Surface2D:
    """The loss contour ``s(alpha, beta)`` of architectures paper Sec. 4.2.1 on two directions from ``seed``."""
    a, b = _grid(alphas, "alphas"), _grid(betas, "betas")
    grid = np.stack(np.meshgrid(a, b, indexing="ij"), axis=-1).reshape(-1, 2)
    loss, acc = evaluate_points(model, data, directions(model, 2, seed), grid, method, chunk, batch_size)
    return Surface2D(a, b, loss.reshape(len(a), len(b)), acc.reshape(len(a), len(b)))
