"""``train_arch``: build an architecture's network for a protocol and dataset, then train it.

Image spaces (NB201, DARTS, NB101, ...) train classifiers with ``train_arch`` (a ``TrainResult``, accuracies);
the recurrent spaces of the RNN family (``rnn``, ``rnn_reduced``; search-phase paper Sec. 3.2, Table 3A) train
word-level language models with ``train_lm_arch`` (an ``LMResult``, perplexities). Two functions because the
results differ in kind: ``is_lm_space`` says which one a space takes, ``train_arch`` refuses an RNN space.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from nasaudit.data.imagenet_stream import STREAMED_DATASETS
from nasaudit.data.loading import load_dataset
from nasaudit.data.splits import DatasetSplits
from nasaudit.data.text import TextCorpus, load_text_corpus
from nasaudit.errors import ConfigError
from nasaudit.limits import MAX_TEXT_BYTES
from nasaudit.nn.networks import build_network
from nasaudit.nn.rnn_cell import RNNModel
from nasaudit.spaces import get_space
from nasaudit.spaces.base import SearchSpace
from nasaudit.spaces.rnn import RNNSpace
from nasaudit.train.lm import LMProtocol, LMResult, get_lm_protocol, train_lm
from nasaudit.train.loop import train
from nasaudit.train.protocols import TrainProtocol, get_protocol
from nasaudit.train.result import EpochRecord, TrainResult


def train_arch(space: SearchSpace | str, arch: Any, *, protocol: str | TrainProtocol,
               dataset: str | DatasetSplits, seed: int, data_root: str | Path | None = None,
               checkpoint_dir: Path | None = None, device: str | None = None, val_fraction: float = 0.1,
               progress: bool = True, on_epoch_end: Callable[[EpochRecord], None] | None = None,
               threads: int = 1, test_each_epoch: bool = False, **macro_kwargs: Any) -> TrainResult:
    """Train ``arch`` from scratch under a named protocol (``PROTOCOLS``; papers cited there).

    The network gets the protocol's macro settings for the space family, overridden by
    ``macro_kwargs``; weights are initialised from ``seed``, which also draws the validation split
    (``val_fraction`` of the training images) when ``dataset`` is a name. ``on_epoch_end``,
    ``threads`` and ``test_each_epoch`` are passed to ``train``.
    """
    the_space = get_space(space) if isinstance(space, str) else space
    if is_lm_space(the_space):
        raise ConfigError(f"space {the_space.name!r} holds recurrent cells trained as language models: train them "
                          "with train_lm_arch (perplexities)")
    value = the_space.coerce(arch)
    proto = get_protocol(protocol)
    if isinstance(dataset, str) and dataset.lower() in STREAMED_DATASETS:  # ImageNet: decoded while training
        from nasaudit.train.streamed import train_streamed_arch

        return train_streamed_arch(the_space, value, protocol=proto, dataset=dataset, seed=seed, data_root=data_root,
                                   checkpoint_dir=checkpoint_dir, device=device, val_fraction=val_fraction,
                                   progress=progress, on_epoch_end=on_epoch_end, threads=threads,
                                   test_each_epoch=test_each_epoch, **macro_kwargs)
    splits = dataset if isinstance(dataset, DatasetSplits) else load_dataset(
        dataset, data_root, val_fraction=val_fraction, seed=seed)
    macro = {**proto.macro.get(the_space.family, {}), **macro_kwargs}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_network(value, the_space, num_classes=splits.num_classes, in_channels=splits.in_channels,
                              **macro)
    result = train(model, splits, proto, seed=seed, checkpoint_dir=checkpoint_dir, device=device,
                   progress=progress, on_epoch_end=on_epoch_end, threads=threads, test_each_epoch=test_each_epoch)
    return replace(result, arch=the_space.format(value), space=the_space.name, macro=macro)


def is_lm_space(space: SearchSpace) -> bool:
    """Whether ``space``'s architectures train as language models (``train_lm_arch``): the RNN family."""
    return space.family == RNNSpace.family


#: the ``RNNModel`` settings a protocol or a caller may set (the vocabulary, cell and seed come from the run)
LM_MODEL_OPTIONS: tuple[str, ...] = tuple(
    name for name in inspect.signature(RNNModel).parameters if name not in ("ntoken", "genotype", "seed"))


def lm_model_kwargs(protocol: LMProtocol, **overrides: Any) -> dict[str, Any]:
    """The ``RNNModel`` keyword arguments of ``protocol``: ``ninp = emsize``, ``nhid``, its dropouts
    (``model_options``), then ``overrides`` (names of ``LM_MODEL_OPTIONS``; another name is a ``ConfigError``)."""
    unknown = sorted(set(overrides) - set(LM_MODEL_OPTIONS))
    if unknown:
        raise ConfigError(f"unknown language-model option(s) {unknown}; the model takes {list(LM_MODEL_OPTIONS)} "
                          "and the protocol its own fields")
    return {"ninp": protocol.emsize, "nhid": protocol.nhid, **protocol.model_options, **overrides}


def check_text_prefix(text_prefix: Sequence[int] | None) -> tuple[int, int, int] | None:
    """``text_prefix`` as (train, valid, test) token counts, each in ``[2, MAX_TEXT_BYTES]``, or ``None``."""
    if text_prefix is None:
        return None
    if (isinstance(text_prefix, (str, bytes)) or not isinstance(text_prefix, Sequence) or len(text_prefix) != 3
            or not all(isinstance(n, int) and not isinstance(n, bool) and 2 <= n <= MAX_TEXT_BYTES
                       for n in text_prefix)):
        raise ConfigError(f"text_prefix must be [train, valid, test] token counts, each in [2, {MAX_TEXT_BYTES:,}], "
                          f"got {text_prefix!r}")
    return int(text_prefix[0]), int(text_prefix[1]), int(text_prefix[2])


def train_lm_arch(space: SearchSpace | str, arch: Any, *, protocol: str | LMProtocol, dataset: str | TextCorpus,
                  seed: int, data_root: str | Path | None = None, checkpoint_dir: Path | None = None,
                  device: str | None = None, progress: bool = True,
                  on_epoch_end: Callable[[EpochRecord], None] | None = None, threads: int = 1,
                  text_prefix: Sequence[int] | None = None, **model_kwargs: Any) -> LMResult:
    """Train recurrent cell ``arch`` of an RNN-family space from scratch as a word-level language model
    (search-phase paper Sec. 3.2, Table 3A: the reduced space's cells trained individually; DARTS Sec. 3.3).

    ``protocol`` is a name of ``LM_PROTOCOLS`` or an ``LMProtocol``; the model is ``RNNModel`` with the protocol's
    sizes and dropouts (``lm_model_kwargs``, overridden by ``model_kwargs``), weights and dropout masks from
    ``seed``, on text corpus ``dataset`` (``jargon``, or ``ptb`` from ``data_root``; ``data.text``);
    ``text_prefix`` = (train, valid, test) keeps the first tokens of each split (quick runs and tests). Training
    is ``train_lm`` with ``seed`` (validation every epoch, test perplexity of the best-validation weights).
    """
    the_space = get_space(space) if isinstance(space, str) else space
    if not is_lm_space(the_space):
        raise ConfigError(f"space {the_space.name!r} is not an RNN space: train its architectures with train_arch")
    value = the_space.coerce(arch)
    proto = get_lm_protocol(protocol)
    kwargs = lm_model_kwargs(proto, **model_kwargs)
    prefix = check_text_prefix(text_prefix)
    if isinstance(dataset, DatasetSplits):
        raise ConfigError("an RNN space trains on a text corpus (jargon, ptb), not on image splits")
    corpus = dataset if isinstance(dataset, TextCorpus) else load_text_corpus(
        dataset, None if data_root is None else Path(data_root))
    if prefix is not None:
        corpus = corpus.prefix(*prefix)
    model = RNNModel(corpus.ntoken, value, seed=seed, **kwargs)
    return train_lm(model, corpus, proto, seed=seed, checkpoint_dir=checkpoint_dir, device=device,
                    progress=progress, threads=threads, on_epoch_end=on_epoch_end)
