"""The NAS-Bench-101 protocol and the optimiser factory (RMSProp next to SGD)."""

from __future__ import annotations

import pytest
import torch

from nasaudit.errors import ConfigError
from nasaudit.train.protocols import get_protocol, make_optimizer


def test_nb101_protocol_has_the_published_settings() -> None:
    p = get_protocol("nb101")
    assert (p.optimizer, p.lr, p.lr_min, p.epochs, p.batch_size) == ("rmsprop", 0.2, 0.0, 108, 256)
    assert (p.momentum, p.rmsprop_alpha, p.rmsprop_eps, p.weight_decay) == (0.9, 0.9, 1.0, 1e-4)
    assert p.learning_rate(0) == pytest.approx(0.2) and p.learning_rate(54) == pytest.approx(0.1)
    assert dict(p.macro["nb101"]) == {"stem_channels": 128, "stacks": 3, "cells_per_stack": 3}


def test_rmsprop_steps_match_the_update_rule() -> None:
    p = get_protocol("nb101").with_overrides(weight_decay=0.0)
    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    optimizer = make_optimizer([weight], p)
    assert isinstance(optimizer, torch.optim.RMSprop)
    square, buffer, expected = torch.zeros(2), torch.zeros(2), weight.detach().clone()
    for grad in (torch.tensor([0.5, -1.0]), torch.tensor([2.0, 0.25])):
        weight.grad = grad.clone()
        optimizer.step()
        square = 0.9 * square + 0.1 * grad**2
        buffer = 0.9 * buffer + grad / (square.sqrt() + 1.0)
        expected -= 0.2 * buffer
        assert torch.allclose(weight.detach(), expected, atol=1e-7)


def test_sgd_is_the_default_and_unknown_optimizers_are_refused() -> None:
    weight = torch.nn.Parameter(torch.zeros(1))
    sgd = make_optimizer([weight], get_protocol("nb201"))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] is True
    with pytest.raises(ConfigError, match="unknown optimizer 'adam'"):
        make_optimizer([weight], get_protocol("nb201").with_overrides(optimizer="adam"))
