"""Training a cell of the reduced RNN space as a language model (search-phase paper Sec. 3.2, Table 3A), tiny:
the shipped corpus ``jargon`` cut to a prefix, 16 dimensions, one epoch."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from nasaudit.data.loading import load_dataset
from nasaudit.data.text import TextCorpus, load_text_corpus
from nasaudit.errors import ConfigError, DataError
from nasaudit.nn.networks import build_network
from nasaudit.nn.rnn_cell import RNNModel
from nasaudit.spaces import get_space
from nasaudit.train.arch import is_lm_space, lm_model_kwargs, train_arch, train_lm_arch
from nasaudit.train.lm import LMProtocol, get_lm_protocol

CELL = "Genotype(recurrent=[('tanh', 0), ('relu', 1)], concat=range(1, 3))"
PREFIX = (800, 160, 160)


@pytest.fixture(scope="module")
def jargon() -> TextCorpus:
    return load_text_corpus("jargon")


@pytest.fixture(scope="module")
def tiny() -> LMProtocol:
    proto = get_lm_protocol("lm_cpu_small").with_overrides(epochs=1, emsize=16, nhid=16, bptt=10, batch_size=16)
    assert isinstance(proto, LMProtocol)
    return proto


def test_a_reduced_cell_trains_deterministically_and_reports_perplexities(jargon: TextCorpus,
                                                                          tiny: LMProtocol) -> None:
    space = get_space("rnn_reduced")
    assert is_lm_space(space) and not is_lm_space(get_space("nb201"))
    runs = [train_lm_arch(space, CELL, protocol=tiny, dataset=jargon, seed=seed, text_prefix=PREFIX,
                          progress=False) for seed in (0, 0, 1)]
    first, again, other = runs
    assert [replace(r, seconds=0.0) for r in first.history] == [replace(r, seconds=0.0) for r in again.history]
    assert (first.test_loss, first.best_val_ppl) == (again.test_loss, again.best_val_ppl)
    assert other.test_loss != first.test_loss
    assert first.protocol == "lm_cpu_small" and first.dataset == "jargon" and len(first.history) == 1
    assert first.test_ppl == pytest.approx(math.exp(first.test_loss))
    assert first.best_val_ppl == pytest.approx(math.exp(min(r.val_loss for r in first.history)))
    assert 1.0 < first.test_ppl < jargon.ntoken * 10  # a language model over the corpus' vocabulary
    model = RNNModel(jargon.ntoken, CELL, **lm_model_kwargs(tiny))
    assert first.params == sum(p.numel() for p in model.parameters())


def test_model_settings_come_from_the_protocol_then_the_caller() -> None:
    proto = get_lm_protocol("darts_rnn_eval")
    settings = lm_model_kwargs(proto, dropoute=0.05)
    assert (settings["ninp"], settings["nhid"], settings["dropout"], settings["dropoute"]) == (850, 850, 0.75, 0.05)
    with pytest.raises(ConfigError, match="unknown language-model option"):
        lm_model_kwargs(proto, channels=16)


def test_wrong_kinds_are_refused_in_one_line(jargon: TextCorpus, tiny: LMProtocol) -> None:
    with pytest.raises(ConfigError, match="train_lm_arch"):
        train_arch("rnn_reduced", CELL, protocol="cpu_small", dataset="embedded", seed=0)
    with pytest.raises(ConfigError, match="not an RNN space"):
        train_lm_arch("nb201", "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", protocol=tiny, dataset=jargon,
                      seed=0)
    with pytest.raises(ConfigError, match="text corpus"):
        train_lm_arch("rnn_reduced", CELL, protocol=tiny, dataset=load_dataset(val_fraction=0.1, seed=0), seed=0)
    with pytest.raises(ConfigError, match="language-model protocol"):
        train_lm_arch("rnn_reduced", CELL, protocol="cpu_small", dataset=jargon, seed=0)
    with pytest.raises(DataError, match="text dataset"):
        train_lm_arch("rnn_reduced", CELL, protocol=tiny, dataset="embedded", seed=0)
    for bad in ([100, 10], [1, 10, 10], "abc", [100, 10, True]):
        with pytest.raises(ConfigError, match="text_prefix"):
            train_lm_arch("rnn_reduced", CELL, protocol=tiny, dataset=jargon, seed=0, text_prefix=bad)
    with pytest.raises(ConfigError, match="language models"):
        build_network(CELL, "rnn_reduced", num_classes=10)
