"""``nao_rnn``: NAO-WS in the RNN spaces (renqianluo/NAO ``NAO-WS/rnn``; search-phase paper Table 1 and 3A) keeps
the method contract, writes cells as the release's ``predecessor, activation`` tokens, and renews its pool with
decoded and uniformly drawn cells while keeping its size."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nasaudit.search._nao_tokens import RNNTokens, make_codec
from nasaudit.spaces import get_space
from nasaudit.spaces.rnn import RNNSpace
from nasaudit.spaces.subset import SubsetSpace
from nasaudit.testing import MethodContract
from nasaudit.weight_sharing.base import get_method
from nasaudit.weight_sharing.methods.nao import NAOPool

from .conftest import rnn_setup

TINY = {"seed_archs": 6, "top_archs": 4, "new_archs": 2, "epd_epochs": 3, "eval_images": 100, "max_step_size": 5,
        "evaluations": 2, "windows_per_epoch": 4, "random_archs": 1}


class TestNAORNNContract(MethodContract):
    @pytest.fixture
    def method_name(self) -> str:
        return "nao_rnn"

    @pytest.fixture
    def settings(self) -> dict[str, Any]:
        return TINY

    @pytest.fixture
    def setup(self) -> Any:
        space = get_space("rnn_reduced")
        return rnn_setup(within=tuple(space.format(a) for a in space.enumerate())[:16])

    def test_check_accepts_its_families_and_refuses_others_in_one_line(self, method: Any) -> None:
        assert method.check(get_space("rnn"), reduced=False) is None
        assert method.check(get_space("rnn_reduced"), reduced=True) is None
        assert "rnn" in (method.check(get_space("darts")) or "")


def test_the_tokens_are_the_releases_predecessor_activation_pairs() -> None:
    """The release's 11-node cell: vocabulary 16 (start symbol, predecessors 0..10, four activations), 22 tokens
    read in pairs (``train_search.sh``: vocab size 16, ``source_length`` 22, ``encoder_length`` 11)."""
    eleven = RNNSpace(n_nodes=11)
    codec = make_codec(eleven)
    assert isinstance(codec, RNNTokens) and (codec.vocab, codec.length, codec.length // codec.group) == (16, 22, 11)
    cell = get_space("rnn").parse("Genotype(recurrent=[('sigmoid', 0), ('relu', 1), ('relu', 1), ('identity', 1), "
                                  "('tanh', 2), ('sigmoid', 5), ('tanh', 3), ('relu', 5)], concat=range(1, 9))")
    tokens = make_codec(get_space("rnn")).encode(cell)
    # predecessor p -> p + 1; activation a -> 9 + index in (tanh, relu, sigmoid, identity)
    assert tokens[:6] == (1, 11, 2, 10, 2, 10)
    assert make_codec(get_space("rnn")).decode(tokens) == cell
    codec8 = make_codec(get_space("rnn"))
    assert codec8.allowed((1, 11)) == [1, 2] and codec8.allowed((1,)) == [9, 10, 11, 12]
    assert codec8.decode((3, 9, *tokens[2:])) is None  # node 1 cannot read node 2


def test_a_renewal_keeps_the_pool_size_with_decoded_and_drawn_members() -> None:
    space = get_space("rnn_reduced")
    reduced = SubsetSpace(space, list(space.enumerate())[:20])
    settings = get_method("nao_rnn", {**TINY, "seed_archs": 8, "random_archs": 2, "max_step_size": 30}).settings
    pool = NAOPool(settings, reduced, seed=0, folder=None, random_archs=2)  # type: ignore[arg-type]
    old = list(pool.pool)
    pool.scores = list(np.linspace(-5, -6, len(old)))
    added = pool.renew(epoch=1)
    assert len(pool.pool) == len(old) and pool.pool[:len(old) - added - 2] == old[:len(old) - added - 2]
    assert len({reduced.canonical(a) for a in pool.pool}) == len(old)
    assert all(reduced.contains(a) for a in pool.pool)


def test_the_epds_adam_is_kept_across_rounds_and_with_the_pool(tmp_path) -> None:
    """The RNN release makes the controller's Adam once, before its loop: its steps add up over rounds, and the state
    kept after an evaluation restores them (image NAO, after NAO_V1, makes a fresh Adam per round)."""
    settings = get_method("nao_rnn", TINY).settings
    pool = NAOPool(settings, get_space("rnn_reduced"), seed=0, folder=tmp_path, random_archs=1)  # type: ignore[arg-type]
    assert pool.optimizer is not None
    steps = []
    for epoch in (1, 2):
        pool.end_round(epoch, np.linspace(-5, -6, len(pool.pool)), last=False)
        steps.append(int(pool.optimizer.state_dict()["state"][0]["step"]))
    assert steps == [3, 6]  # epd_epochs 3, one batch of 6 cells per epoch
    again = NAOPool(settings, get_space("rnn_reduced"), seed=0, folder=tmp_path, random_archs=1)  # type: ignore[arg-type]
    again.restore(2)
    assert again.optimizer is not None and int(again.optimizer.state_dict()["state"][0]["step"]) == 6
    assert NAOPool(settings, get_space("nb201"), seed=0, folder=None).optimizer is None  # type: ignore[arg-type]


def test_the_epds_targets_are_one_minus_the_releases_normalised_perplexity() -> None:
    """The release trains the predictor on min-max normalised perplexity (``utils.normalize_target``), lower
    better; ours on one minus it, higher better: linear in perplexity, not in the loss."""
    settings = get_method("nao_rnn", TINY).settings
    pool = NAOPool(settings, get_space("rnn_reduced"), seed=0, folder=None)  # type: ignore[arg-type]
    pool.scores = [-np.log(100.0), -np.log(200.0), -np.log(400.0)]
    assert pool.targets() == pytest.approx([1.0, 2 / 3, 0.0])
    image = NAOPool(get_method("nao").settings, get_space("nb201"), seed=0, folder=None)  # type: ignore[arg-type]
    image.scores = [90.0, 80.0, 50.0]
    assert image.targets() == pytest.approx([1.0, 0.75, 0.0])
