"""DARTS recurrent cell and PTB model (quark0/darts rnn/model.py): parameter count, the cell equations, seeding."""

from __future__ import annotations

import pytest
import torch

from nasaudit.errors import ConfigError
from nasaudit.nn.rnn_cell import DARTSRNNCell, RNNModel
from nasaudit.spaces.rnn import DARTS_V2, ENAS, parse_rnn_genotype

TWO_NODES = "Genotype(recurrent=[('relu', 0), ('sigmoid', 1)], concat=range(1, 3))"


def test_parameter_count_equals_the_authors_model_at_the_paper_sizes() -> None:
    # rnn/model.py shapes: encoder 10000 x 850 (decoder weight tied to it), decoder bias 10000,
    # _W0 (850 + 850) x 1700, and one 850 x 1700 matrix per node (8 for DARTS): 22,960,000 (Table 2: 23M)
    expected = 10_000 * 850 + 10_000 + (850 + 850) * 2 * 850 + 8 * 850 * 2 * 850
    assert expected == 22_960_000
    model = RNNModel(10_000, DARTS_V2, ninp=850, nhid=850)
    assert sum(p.numel() for p in model.parameters()) == expected
    assert model.decoder.weight is model.encoder.weight
    enas = DARTSRNNCell(4, 4, ENAS)  # ENAS's 11 nodes: 11 node matrices
    assert len(enas._Ws) == 11


def test_one_step_equals_the_published_equations() -> None:
    torch.manual_seed(0)
    cell = DARTSRNNCell(3, 3, TWO_NODES)
    cell.reset_parameters(torch.Generator().manual_seed(1))
    x, h_prev = torch.randn(2, 3), torch.randn(2, 3)
    w0, w1, w2 = cell._W0.detach(), cell._Ws[0].detach(), cell._Ws[1].detach()
    xh = torch.cat([x, h_prev], dim=1)
    c0, h0 = xh @ w0[:, :3], xh @ w0[:, 3:]
    s0 = h_prev + torch.sigmoid(c0) * (torch.tanh(h0) - h_prev)
    c1, h1 = s0 @ w1[:, :3], s0 @ w1[:, 3:]
    s1 = s0 + torch.sigmoid(c1) * (torch.relu(h1) - s0)  # node 1: relu of node 0
    c2, h2 = s1 @ w2[:, :3], s1 @ w2[:, 3:]
    s2 = s1 + torch.sigmoid(c2) * (torch.sigmoid(h2) - s1)  # node 2: sigmoid of node 1
    expected = (s1 + s2) / 2
    with torch.no_grad():
        torch.testing.assert_close(cell.step(x, h_prev), expected)
        # the variational masks multiply x, h_prev and every node's input state
        xm, hm = torch.tensor([[2.0, 0.0, 2.0]] * 2), torch.tensor([[0.0, 2.0, 2.0]] * 2)
        xh = torch.cat([x * xm, h_prev * hm], dim=1)
        c0, h0 = xh @ w0[:, :3], xh @ w0[:, 3:]
        s0 = h_prev + torch.sigmoid(c0) * (torch.tanh(h0) - h_prev)
        s1 = s0 + torch.sigmoid((s0 * hm) @ w1[:, :3]) * (torch.relu((s0 * hm) @ w1[:, 3:]) - s0)
        s2 = s1 + torch.sigmoid((s1 * hm) @ w2[:, :3]) * (torch.sigmoid((s1 * hm) @ w2[:, 3:]) - s1)
        torch.testing.assert_close(cell.step(x, h_prev, xm, hm), (s1 + s2) / 2)
        # unrolled over time, each step feeds the next
        outs, last = cell.eval()(torch.stack([x, x]), h_prev.unsqueeze(0))
        torch.testing.assert_close(outs[1], cell.step(x, cell.step(x, h_prev)))
        torch.testing.assert_close(last[0], outs[1])


def test_model_is_deterministic_under_its_seed() -> None:
    tokens = torch.randint(0, 50, (6, 4), generator=torch.Generator().manual_seed(0))

    def run(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        model = RNNModel(50, TWO_NODES, ninp=8, nhid=8, seed=seed)
        model.train()
        out, hidden = model(tokens, model.init_hidden(4))
        assert out.shape == (6, 4, 50) and hidden.shape == (1, 4, 8)
        return out, hidden

    a, b, c = run(3), run(3), run(4)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])
    model = RNNModel(50, parse_rnn_genotype(TWO_NODES), ninp=8, nhid=8, seed=3).eval()
    with torch.no_grad():
        first = model(tokens, model.init_hidden(4))[0]
        torch.testing.assert_close(first.exp().sum(-1), torch.ones(6, 4))
        assert torch.equal(first, model(tokens, model.init_hidden(4))[0])  # no dropout in evaluation


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="ninp == nhid"):
        RNNModel(50, TWO_NODES, ninp=8, nhid=6)
    with pytest.raises(ConfigError, match="dropoutx"):
        RNNModel(50, TWO_NODES, ninp=8, nhid=8, dropoutx=1.0)
    with pytest.raises(ConfigError, match="predecessor 2"):
        DARTSRNNCell(3, 3, "Genotype(recurrent=[('relu', 0), ('tanh', 2)], concat=range(1, 3))")
    model = RNNModel(50, TWO_NODES, ninp=8, nhid=8, tie_weights=False)
    assert model.decoder.weight is not model.encoder.weight
    with pytest.raises(ConfigError, match="hidden must be"):
        model(torch.zeros(3, 2, dtype=torch.long), model.init_hidden(3))
