"""Gradient variance: batched per-batch gradients against a plain autograd loop, and its invariants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nasaudit.dynamics.functional import EvalData
from nasaudit.dynamics.gradient_variance import _batches, gradient_variance, gradient_variance_surface
from nasaudit.errors import DataError


def _reference(model: nn.Module, data: EvalData, batch_size: int, seed: int) -> tuple[float, float]:
    """Per-batch gradients by ordinary backward passes, then torch's unbiased variance over batches."""
    xs, ys = _batches(data, batch_size, seed)
    grads = []
    for xb, yb in zip(xs, ys, strict=True):
        model.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).double())
    per_entry = torch.stack(grads).var(dim=0, unbiased=True)
    return float(per_entry.mean()), float(per_entry.sum())


@pytest.mark.parametrize("batch_size", [1, 5])
def test_batched_and_looped_match_the_reference(nb201_net: nn.Module, data: EvalData, batch_size: int) -> None:
    mean, total = _reference(nb201_net, data, batch_size, seed=2)
    for method in ("vmap", "loop"):
        result = gradient_variance(nb201_net, data, batch_size, seed=2, method=method, chunk=3)
        assert result.variance == pytest.approx(mean, rel=1e-6)
        assert result.total == pytest.approx(total, rel=1e-6)
        assert result.n_batches == len(data) // batch_size
        assert result.n_parameters == sum(p.numel() for p in nb201_net.parameters())


def test_identical_batches_have_zero_variance(nb201_net: nn.Module, data: EvalData) -> None:
    same = EvalData(data.x[:1].repeat(6, 1, 1, 1), data.y[:1].repeat(6))
    assert gradient_variance(nb201_net, same, 2, seed=0).variance == pytest.approx(0.0, abs=1e-12)


def test_surface_centre_is_the_scalar_at_the_trained_weights(nb201_net: nn.Module, data: EvalData) -> None:
    surface = gradient_variance_surface(nb201_net, data, [-0.5, 0.0], [0.0, 0.5], seed=1, batch_size=4,
                                        partition_seed=7)
    centre = gradient_variance(nb201_net, data, 4, seed=7)
    assert surface.variance[1, 0] == pytest.approx(centre.variance, rel=1e-9)
    table = surface.table()
    assert list(table.columns) == ["alpha", "beta", "variance", "total", "std"]
    np.testing.assert_allclose(table["std"] ** 2, table["variance"])
    assert (surface.variance > 0).all()


def test_too_few_batches_is_a_data_error(nb201_net: nn.Module, data: EvalData) -> None:
    with pytest.raises(DataError, match="at least 2 mini-batches"):
        gradient_variance(nb201_net, data, batch_size=len(data))
