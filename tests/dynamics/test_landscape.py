"""Loss landscapes: filter normalisation, batched vs per-point evaluation, and a slow reference."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from nasaudit.dynamics.functional import EvalData
from nasaudit.dynamics.landscape import (
    directions,
    evaluate_points,
    filter_normalized_direction,
    loss_surface_1d,
    loss_surface_2d,
)
from nasaudit.errors import ConfigError


def test_filter_normalised_direction_matches_filter_norms(nb201_net: nn.Module) -> None:
    d = filter_normalized_direction(nb201_net, seed=5)
    params = dict(nb201_net.named_parameters())
    assert set(d) == set(params)
    for name, w in params.items():
        if w.dim() <= 1:
            assert torch.count_nonzero(d[name]) == 0  # biases and batch-norm parameters ignored
        else:
            torch.testing.assert_close(d[name].flatten(1).norm(dim=1), w.detach().flatten(1).norm(dim=1))
    again = filter_normalized_direction(nb201_net, seed=5)
    other = filter_normalized_direction(nb201_net, seed=6)
    assert all(torch.equal(d[k], again[k]) for k in d)
    assert any(not torch.equal(d[k], other[k]) for k in d if params[k].dim() > 1)


def _reference_loss(model: nn.Module, data: EvalData, dirs: list[dict[str, torch.Tensor]],
                    coefs: tuple[float, ...]) -> tuple[float, float]:
    """Copy the moved weights into a copy of the model and run it plainly."""
    moved = copy.deepcopy(model).eval()
    with torch.no_grad():
        for name, p in moved.named_parameters():
            p.add_(sum(c * d[name] for c, d in zip(coefs, dirs, strict=True)))
        out = moved(data.x)
    return float(F.cross_entropy(out, data.y)), 100.0 * float((out.argmax(1) == data.y).float().mean())


def test_surface_matches_plain_forward_passes_and_vmap_equals_loop(nb201_net: nn.Module, data: EvalData) -> None:
    grid = np.array([-0.5, 0.0, 0.75])
    batched = loss_surface_2d(nb201_net, data, grid, grid[:2], seed=1, method="vmap", chunk=4, batch_size=10)
    looped = loss_surface_2d(nb201_net, data, grid, grid[:2], seed=1, method="loop", batch_size=7)
    np.testing.assert_allclose(batched.loss, looped.loss, rtol=1e-5)
    np.testing.assert_array_equal(batched.accuracy, looped.accuracy)
    dirs = directions(nb201_net, 2, seed=1)
    for i, j in [(0, 0), (1, 1), (2, 0)]:
        loss, acc = _reference_loss(nb201_net, data, dirs, (grid[i], grid[j]))
        assert batched.loss[i, j] == pytest.approx(loss, rel=1e-5)
        assert batched.accuracy[i, j] == pytest.approx(acc)
    assert batched.table().shape == (6, 4)
    assert not nb201_net.training


def test_one_d_curve_is_the_first_axis_of_the_plane(nb201_net: nn.Module, data: EvalData) -> None:
    alphas = [-1.0, 0.0, 1.0]
    curve = loss_surface_1d(nb201_net, data, alphas, seed=4)
    plane = loss_surface_2d(nb201_net, data, alphas, [0.0], seed=4)
    np.testing.assert_allclose(curve.loss, plane.loss[:, 0], rtol=1e-6)
    # the centre is the trained weights
    assert curve.loss[1] == pytest.approx(_reference_loss(nb201_net, data, [], ())[0], rel=1e-5)


def test_bad_requests_raise_config_errors(nb201_net: nn.Module, data: EvalData) -> None:
    dirs = directions(nb201_net, 2, seed=0)
    with pytest.raises(ConfigError, match="coefficients"):
        evaluate_points(nb201_net, data, dirs, np.zeros((3, 1)))
    with pytest.raises(ConfigError, match="method"):
        evaluate_points(nb201_net, data, dirs, np.zeros((3, 2)), method="fast")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="alphas"):
        loss_surface_1d(nb201_net, data, [], seed=0)
