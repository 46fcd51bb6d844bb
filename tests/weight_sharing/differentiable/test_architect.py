"""The second-order architecture gradient against exact autograd references (DARTS eq. 7-8)."""

from __future__ import annotations

import torch

from nasaudit.weight_sharing.differentiable.architect import finite_difference_hvp, unrolled_alpha_grad


def _model() -> tuple[torch.nn.Parameter, torch.nn.Parameter, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    w = torch.nn.Parameter(torch.randn(2, 5, 4, generator=g, dtype=torch.float64))
    a = torch.nn.Parameter(torch.randn(2, generator=g, dtype=torch.float64))
    xt, xv = torch.randn(16, 4, generator=g, dtype=torch.float64), torch.randn(16, 4, generator=g, dtype=torch.float64)
    yt, yv = torch.randint(0, 5, (16,), generator=g), torch.randint(0, 5, (16,), generator=g)
    return w, a, xt, yt, xv, yv


def _loss(w: torch.Tensor, a: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A two-candidate mixed op: softmax(a) weights a linear and a tanh-linear branch."""
    p = torch.softmax(a, 0)
    logits = p[0] * x @ w[0].T + p[1] * torch.tanh(x @ w[1].T)
    return torch.nn.functional.cross_entropy(logits, y)


def test_finite_difference_hvp_matches_double_backward() -> None:
    w, a, xt, yt, _, _ = _model()
    v = torch.randn(w.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    approx = finite_difference_hvp([w], [a], lambda: _loss(w, a, xt, yt), [v])[0]
    (gw,) = torch.autograd.grad(_loss(w, a, xt, yt), w, create_graph=True)
    (exact,) = torch.autograd.grad((gw * v).sum(), a)
    torch.testing.assert_close(approx, exact, rtol=2e-3, atol=1e-8)  # central differences: O(eps^2) error
    before = w.detach().clone()
    finite_difference_hvp([w], [a], lambda: _loss(w, a, xt, yt), [v])
    assert torch.equal(w.detach(), before)  # the weights come back bit-identical


def test_unrolled_gradient_matches_autograd_through_the_sgd_step() -> None:
    w, a, xt, yt, xv, yv = _model()
    lr, wd = 0.1, 3e-4
    momentum = 0.9 * torch.randn(w.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    grads, loss = unrolled_alpha_grad([w], [a], lambda: _loss(w, a, xt, yt), lambda: _loss(w, a, xv, yv), lr,
                                      momentum=[momentum], weight_decay=[wd])
    # reference: d/da L_val(w - lr (m + dL_train/dw + wd w), a) by double backward
    (gw,) = torch.autograd.grad(_loss(w, a, xt, yt), w, create_graph=True)
    unrolled = w - lr * (momentum + gw + wd * w)
    ref_loss = _loss(unrolled, a, xv, yv)
    (exact,) = torch.autograd.grad(ref_loss, a)
    torch.testing.assert_close(grads[0], exact, rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(loss, ref_loss.detach())
    first_order = torch.autograd.grad(_loss(w, a, xv, yv), a)[0]
    assert not torch.allclose(grads[0], first_order)  # the second-order term is not negligible here
