"""NAO-WS (Luo et al. 2018): tokens round-trip on the three cell spaces, the encoder-predictor-decoder's loss and its
step in embedding space equal a plain-torch replay of the release's formulas (renqianluo/NAO_pytorch@418ff71,
``NAO_V1/encoder.py``, ``decoder.py``, ``train_search.py``) with the same weights, a round of the pool, resuming a
killed seed, the method contract on NB201, DARTS and reduced NB101, and a tiny ``compare`` seed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nasaudit.search._nao_tokens import SOS, make_codec
from nasaudit.search.nao_model import EPD, EPDSizes
from nasaudit.spaces import get_space
from nasaudit.spaces.nb101 import NB101Space
from nasaudit.spaces.subset import SubsetSpace
from nasaudit.testing import MethodContract
from nasaudit.testing.methods import EMBEDDED_MASK, embedded_cells
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.methods.nao import NAOPool, evaluation_epochs
from nasaudit.weight_sharing.setup import WSSetup
from nasaudit.weight_sharing.training import run_training

#: tiny own settings: a pool of 12, EPD trained 5 epochs, 4 new architectures a round
TINY = {"seed_archs": 12, "top_archs": 6, "new_archs": 4, "epd_epochs": 5, "eval_images": 32, "max_step_size": 5}
DARTS_TINY = {"space": "darts", "mask": ("avg_pool_3x3", "dil_conv_3x3", "dil_conv_5x5", "sep_conv_5x5", "skip_connect"),
              "channels": 4, "depth": 1, "batch_size": 128, "val_fraction": 0.9, "epochs": 1, "rank_images": 32}
NB101_TINY = {"space": "nb101", "max_vertices": 4, "channels": 4, "depth": 1, "batch_size": 128, "val_fraction": 0.9,
              "epochs": 1, "rank_images": 32}


def nb201_setup(**changes: Any) -> WSSetup:
    cells = embedded_cells(30)
    return WSSetup(**{"space": "nb201", "mask": EMBEDDED_MASK, "within": tuple(cells), "epochs": 1,  # type: ignore[arg-type]
                      "rank_archs": tuple(cells[:8]), "rank_images": 64, "batch_size": 128, "val_fraction": 0.3,
                      **changes})


# ------------------------------------------------------------------------------------------------ tokens
@pytest.mark.parametrize("name", ["nb201", "darts", "nb101"])
def test_tokens_round_trip_and_the_decoder_may_write_every_members_tokens(name: str) -> None:
    space = get_space(name)
    codec = make_codec(space)
    for arch in space.sample_many(20, 0):
        tokens = codec.encode(arch)
        assert len(tokens) == codec.length and all(1 <= t < codec.vocab for t in tokens)
        assert codec.decode(tokens) == arch
        assert all(t in codec.allowed(tokens[:k]) for k, t in enumerate(tokens))
        assert space.canonical(codec.decode(codec.augment(tokens, np.random.default_rng(1)))) == space.canonical(arch)


@pytest.mark.parametrize("name", ["nb201", "darts", "nb101"])
def test_in_a_reduced_space_the_decoder_writes_members_only(name: str) -> None:
    base = get_space(name) if name != "nb101" else NB101Space(max_vertices=5)
    space = SubsetSpace(base, base.sample_many(10, 3))
    codec = make_codec(space)
    rng = np.random.default_rng(0)
    for _ in range(20):  # random walks down the allowed tokens end in a member
        prefix: list[int] = []
        while len(prefix) < codec.length:
            options = codec.allowed(prefix)
            prefix.append(options[int(rng.integers(len(options)))])
        assert codec.decode(prefix) in set(space.members)


# ------------------------------------------------------------------------ side by side with the release's formulas
def lstm(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
         b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One LSTM step, gates (i, f, g, o) as torch lays them out."""
    i, f, g, o = (x @ w_ih.T + h @ w_hh.T + b).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def release_encoder(m: EPD, tokens: torch.Tensor, group: int) -> torch.Tensor:
    """``Encoder.forward`` up to ``encoder_outputs``: embeddings viewed as ``length / ratio`` steps, the LSTM run
    step by step, each output L2-normalised."""
    rnn = m.encoder.rnn
    embedded = m.encoder.embedding.weight[tokens]
    batch, length, width = embedded.shape
    steps = embedded.view(batch, length // group, group * width)
    h = c = torch.zeros(batch, rnn.hidden_size)
    outs = []
    for t in range(steps.shape[1]):
        h, c = lstm(steps[:, t], h, c, rnn.weight_ih_l0, rnn.weight_hh_l0, rnn.bias_ih_l0 + rnn.bias_hh_l0)
        outs.append(h / h.norm(dim=-1, keepdim=True).clamp_min(1e-12))
    return torch.stack(outs, 1)


def release_head(m: EPD, outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``arch_emb`` (mean of the outputs, normalised) and ``predict_value`` (MLP, regressor, sigmoid; eval mode)."""
    emb = outputs.mean(1)
    emb = emb / emb.norm(dim=-1, keepdim=True)
    out = emb
    for layer in m.encoder.mlp:
        if isinstance(layer, torch.nn.Linear):
            out = torch.relu(out @ layer.weight.T + layer.bias)
    reg = m.encoder.regressor
    return emb, torch.sigmoid(out @ reg.weight.T + reg.bias)


def release_step(m: EPD, token: torch.Tensor, h: torch.Tensor, c: torch.Tensor, source: torch.Tensor
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``Decoder.forward_step`` for one token: embedding, LSTM, ``Attention`` (input_proj, softmax over the
    source, output_proj of [mix; output], tanh), output layer, log-softmax. The RNN release's ``Attention`` scores
    the LSTM output itself (no input_proj) and its output layer has a bias."""
    d = m.decoder
    h, c = lstm(d.embedding.weight[token], h, c, d.rnn.weight_ih_l0, d.rnn.weight_hh_l0,
                d.rnn.bias_ih_l0 + d.rnn.bias_hh_l0)
    x = h if d.input_proj is None else h @ d.input_proj.weight.T
    attn = torch.softmax(torch.einsum("bs,bls->bl", x, source), dim=-1)
    mix = torch.einsum("bl,bls->bs", attn, source)
    bias = 0.0 if d.output_proj.bias is None else d.output_proj.bias
    output = torch.tanh(torch.cat([mix, h], -1) @ d.output_proj.weight.T + bias)
    return F.log_softmax(output @ d.out.weight.T + d.out.bias, dim=-1), h, c


def release_loss(m: EPD, tokens: torch.Tensor, target: torch.Tensor, trade_off: float, group: int) -> torch.Tensor:
    """``nao_train``'s loss: decoder input ``[SOS] + tokens[:-1]`` (teacher forcing), hidden ``(arch_emb,
    arch_emb)``; ``trade_off * mse + (1 - trade_off) * nll``."""
    source = release_encoder(m, tokens, group)
    emb, value = release_head(m, source)
    h, c, nll, inputs = emb, emb, [], torch.cat([torch.full_like(tokens[:, :1], SOS), tokens[:, :-1]], 1)
    for t in range(tokens.shape[1]):
        log_p, h, c = release_step(m, inputs[:, t], h, c, source)
        nll.append(-log_p.gather(1, tokens[:, t:t + 1]))
    mse = ((value.squeeze(1) - target) ** 2).mean()
    return trade_off * mse + (1 - trade_off) * torch.cat(nll, 1).mean()


def release_infer(m: EPD, tokens: torch.Tensor, eta: float, group: int, allowed: Callable[[list[int]], list[int]]
                  ) -> tuple[torch.Tensor, list[list[int]]]:
    """``Encoder.infer`` (direction '+') then greedy decoding from SOS: ``new_outputs = normalize(outputs + eta *
    d predict_value / d outputs)``, ``new_emb = normalize(mean)``, each step the most likely allowed token."""
    source = release_encoder(m, tokens, group)
    _, value = release_head(m, source)
    (grad,) = torch.autograd.grad(value, source, torch.ones_like(value))
    new = source + eta * grad
    new = new / new.norm(dim=-1, keepdim=True)
    emb = new.mean(1)
    emb = emb / emb.norm(dim=-1, keepdim=True)
    h, c, token = emb, emb, torch.full((tokens.shape[0],), SOS)
    written: list[list[int]] = [[] for _ in range(tokens.shape[0])]
    for _ in range(tokens.shape[1]):
        log_p, h, c = release_step(m, token, h, c, new)
        token = torch.tensor([max(allowed(w), key=lambda k, row=row: float(log_p[row, k].detach()))
                              for row, w in enumerate(written)])
        for row, t in enumerate(token.tolist()):
            written[row].append(t)
    return emb.detach(), written


#: the RNN release's variant (renqianluo/NAO NAO-WS/rnn: embedding dropout, dot attention, U(-0.04, 0.04) predictor)
RNN_VARIANT = {"embedding_dropout": 0.1, "attention": "dot", "init_range": 0.04}


@pytest.mark.parametrize("name", ["nb201", "darts", "rnn"])
def test_the_loss_and_the_step_in_embedding_space_equal_the_releases_formulas(name: str) -> None:
    space = get_space(name)
    codec = make_codec(space)
    torch.manual_seed(0)
    model = EPD(EPDSizes(codec.vocab, codec.length, codec.group, hidden=16, mlp_layers=2, mlp_hidden=12,
                         **(RNN_VARIANT if name == "rnn" else {})))  # type: ignore[arg-type]
    model.eval()  # the dropouts off: the replay is deterministic
    tokens = torch.tensor([codec.encode(a) for a in space.sample_many(5, 1)])
    target = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0])

    loss, mse, nll = model.losses(tokens, target, 0.8)
    reference = release_loss(model, tokens, target, 0.8, codec.group)
    assert torch.allclose(loss, reference, atol=1e-6) and torch.allclose(loss, 0.8 * mse + 0.2 * nll)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    expected = torch.autograd.grad(reference, list(model.parameters()))
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(grads, expected, strict=True))

    for eta in (1.0, 10.0):
        _, embedding = model.moved(tokens, eta)
        written = model.improve(tokens, eta, codec.allowed)
        ref_embedding, ref_written = release_infer(model, tokens, eta, codec.group, codec.allowed)
        assert torch.allclose(embedding, ref_embedding, atol=1e-6) and written == ref_written
    assert all(codec.decode(w) is not None for w in written)


# ------------------------------------------------------------------------------------------ the pool's rounds
def test_evaluations_fall_as_the_releases_every_30_of_150_epochs() -> None:
    assert evaluation_epochs(150, 5) == [30, 60, 90, 120, 150]
    assert evaluation_epochs(1, 5) == [1] and evaluation_epochs(2, 5) == [1, 2] and evaluation_epochs(7, 1) == [7]


def test_a_round_replaces_the_worst_of_the_pool_by_new_members() -> None:
    base = get_space("nb201").without(EMBEDDED_MASK)
    space = SubsetSpace(base, base.sample_many(200, 0))
    settings = get_method("nao", {**TINY, "max_step_size": 50}).settings  # step sizes 1..50 until 4 are new
    search = NAOPool(settings, space, seed=0, folder=None)  # type: ignore[arg-type]
    old = list(search.pool)
    search.scores = list(np.linspace(90, 10, len(old)))  # already sorted, best first
    added = search.renew(epoch=1)
    assert 1 <= added <= TINY["new_archs"] and len(search.pool) == len(old)  # at most new_archs, if found
    assert search.pool[:-added] == old[:-added] and all(a in set(space.members) for a in search.pool)
    assert len({space.canonical(a) for a in search.pool}) == len(old)


def test_a_seed_killed_after_an_evaluation_resumes_to_the_same_numbers(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from nasaudit.weight_sharing.methods import spos

    torch.set_num_threads(1)
    setup = nb201_setup(epochs=2)
    method = get_method("nao", {**TINY, "evaluations": 2})
    whole = run_training("nao", [method], setup, seed=2, work_dir=tmp_path / "whole")

    original = spos.EpochRanking.on_epoch_end

    def killed_at_epoch_2(self: Any, record: Any) -> None:  # after NAO kept epoch 2's state, before its checkpoint
        if record.epoch == 2:
            raise KeyboardInterrupt
        original(self, record)

    monkeypatch.setattr(spos.EpochRanking, "on_epoch_end", killed_at_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        run_training("nao", [method], setup, seed=2, work_dir=tmp_path / "killed")
    assert (tmp_path / "killed" / "nao_2.pt").is_file()
    monkeypatch.setattr(spos.EpochRanking, "on_epoch_end", original)
    resumed = run_training("nao", [method], setup, seed=2, work_dir=tmp_path / "killed")
    assert resumed.finals == whole.finals and resumed.rank_scores == whole.rank_scores


# --------------------------------------------------------------------------------------- contract and compare
class TestNAOContract(MethodContract):
    @pytest.fixture
    def method_name(self) -> str:
        return "nao"

    @pytest.fixture
    def settings(self) -> dict[str, Any]:
        return TINY

    def test_a_tiny_seed_derives_a_member_and_ranks_reproducibly(self, method: Any, setup: Any,
                                                                 tmp_path: Path) -> None:
        torch.set_num_threads(1)
        super().test_a_tiny_seed_derives_a_member_and_ranks_reproducibly(method, setup, tmp_path)


class TestNAOOnDarts(TestNAOContract):
    @pytest.fixture
    def setup(self) -> Any:
        from nasaudit.weight_sharing.training import search_space

        space = search_space(WSSetup(**DARTS_TINY))  # type: ignore[arg-type]
        return WSSetup(**{**DARTS_TINY, "epochs": 2,  # type: ignore[arg-type]
                          "rank_archs": tuple(space.format(space.sample(i)) for i in range(3))})


class TestNAOOnReducedNB101(TestNAOContract):
    @pytest.fixture
    def setup(self) -> Any:
        cells = tuple(str(a) for a in NB101Space(max_vertices=4).enumerate())[:12]
        return WSSetup(**{**NB101_TINY, "within": cells, "rank_archs": cells[:3]})  # type: ignore[arg-type]


def test_a_tiny_compare_seed_runs_nao(runs_in_comparison: Callable[..., Path]) -> None:
    runs_in_comparison("nao", settings={"nao": TINY}, epochs=2)


def test_the_rnn_releases_variant_drops_embeddings_in_training_and_draws_a_narrow_predictor() -> None:
    """``nao_rnn``'s EPD (``NAO-WS/rnn``): no attention input projection, a biased attention output, the predictor's
    weights in [-0.04, 0.04] with zero biases, and dropout on the encoder's embeddings in training only."""
    codec = make_codec(get_space("rnn"))
    torch.manual_seed(0)
    model = EPD(EPDSizes(codec.vocab, codec.length, codec.group, mlp_layers=4, mlp_dropout=0.0,
                         **RNN_VARIANT))  # type: ignore[arg-type]
    assert model.decoder.input_proj is None and model.decoder.output_proj.bias is not None
    linears = [m for m in model.encoder.mlp if isinstance(m, torch.nn.Linear)] + [model.encoder.regressor]
    assert len(linears) == 5 and all(float(m.weight.detach().abs().max()) <= 0.04 and not m.bias.any() for m in linears)
    tokens = torch.tensor([codec.encode(a) for a in get_space("rnn").sample_many(4, 2)])
    model.train()
    assert not torch.equal(model.encoder.outputs(tokens), model.encoder.outputs(tokens))
    model.eval()
    assert torch.equal(model.encoder.outputs(tokens), model.encoder.outputs(tokens))
    image = EPD(EPDSizes(codec.vocab, codec.length, codec.group))  # NAO_V1's keeps its parameters
    assert image.decoder.input_proj is not None and image.decoder.output_proj.bias is None

