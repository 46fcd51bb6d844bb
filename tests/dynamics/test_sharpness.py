"""Sharpness: power iteration against the exact eigenvalues of a small model's full Hessian."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.func import functional_call
from torch.nn import functional as F

from nasaudit.dynamics.functional import EvalData
from nasaudit.dynamics.sharpness import hessian_vector_product, top_hessian_eigenvalue
from nasaudit.errors import ConfigError


def _problem(hidden: int | None) -> tuple[nn.Module, EvalData]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(20, 1, 2, 2, generator=gen)
    y = torch.randint(0, 3, (20,), generator=gen)
    torch.manual_seed(1)
    layers: list[nn.Module] = [nn.Flatten()]
    layers += [nn.Linear(4, 3)] if hidden is None else [nn.Linear(4, hidden), nn.Tanh(), nn.Linear(hidden, 3)]
    return nn.Sequential(*layers).double(), EvalData(x.double(), y)


def _exact_eigenvalues(model: nn.Module, data: EvalData) -> torch.Tensor:
    names = [k for k, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])

    def loss(theta: torch.Tensor) -> torch.Tensor:
        params, offset = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            params[name] = theta[offset:offset + shape.numel()].view(shape)
            offset += shape.numel()
        return F.cross_entropy(functional_call(model, params, (data.x,)), data.y)

    return torch.linalg.eigvalsh(torch.autograd.functional.hessian(loss, flat))


def test_softmax_regression_top_eigenvalue_is_exact() -> None:
    model, data = _problem(hidden=None)
    exact = _exact_eigenvalues(model, data)
    assert exact.min() > -1e-10  # convex: the top eigenvalue is the largest-magnitude one
    result = top_hessian_eigenvalue(model, data, seed=0, tol=1e-10, max_iter=500, batch_size=7)
    assert result.converged
    assert result.eigenvalue == pytest.approx(float(exact.max()), rel=1e-6)


def test_mlp_dominant_eigenvalue_is_exact_and_seeded() -> None:
    model, data = _problem(hidden=5)
    exact = _exact_eigenvalues(model, data)
    dominant = float(exact[exact.abs().argmax()])
    result = top_hessian_eigenvalue(model, data, seed=3, tol=1e-12, max_iter=2000)
    assert result.eigenvalue == pytest.approx(dominant, rel=1e-5)
    assert top_hessian_eigenvalue(model, data, seed=3, tol=1e-12, max_iter=2000) == result


def test_hvp_is_linear_in_the_vector_and_chunking_free() -> None:
    model, data = _problem(hidden=4)
    v = [torch.ones_like(p) for p in model.parameters()]
    whole = hessian_vector_product(model, data, v, batch_size=20)
    chunked = hessian_vector_product(model, data, [2 * t for t in v], batch_size=6)
    for a, b in zip(whole, chunked, strict=True):
        torch.testing.assert_close(2 * a, b)


def test_bad_settings_raise() -> None:
    model, data = _problem(hidden=None)
    with pytest.raises(ConfigError):
        top_hessian_eigenvalue(model, data, tol=0.0)
