"""Text corpora: the PTB-layout reader, the shipped corpus, batchify/get_batch and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from nasaudit.data.text import (
    EOS,
    UNK,
    batchify,
    get_batch,
    load_text_corpus,
    read_jargon,
    read_ptb,
)
from nasaudit.errors import DataError
from nasaudit.jobs.provenance import file_sha256
from nasaudit.resources import text_corpus_path

# the Mikolov layout: a leading space, words, a trailing space, rare words as <unk>, numbers as N
TRAIN = (" the cat sat on the mat \n"
         " it was N years old and the <unk> was not \n"
         " the dog did n't sit on the mat \n")
VALID = " the cat was old \n"
TEST = " the dog sat \n"


def _ptb(root: Path, train: str = TRAIN, valid: str = VALID, test: str = TEST) -> Path:
    for name, text in (("train", train), ("valid", valid), ("test", test)):
        (root / f"ptb.{name}.txt").write_text(text, encoding="utf-8")
    return root


def test_reads_the_ptb_layout(tmp_path: Path) -> None:
    corpus = load_text_corpus("ptb", _ptb(tmp_path))
    assert corpus.vocab[:4] == ("the", "cat", "sat", "on") and EOS in corpus.vocab and UNK in corpus.vocab
    assert corpus.ntoken == len(set(TRAIN.split())) + 1
    assert corpus.train.numel() == len(TRAIN.split()) + 3 and corpus.train.dtype == torch.int64
    assert [corpus.vocab[i] for i in corpus.valid] == ["the", "cat", "was", "old", EOS]


def test_reader_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="needs a data root"):
        load_text_corpus("ptb")
    with pytest.raises(DataError, match=r"lacks ptb\.test\.txt"):
        _ptb(tmp_path)
        (tmp_path / "ptb.test.txt").unlink()
        read_ptb(tmp_path)
    _ptb(tmp_path, test=" the zebra sat \n")
    with pytest.raises(DataError, match="line 1: word 'zebra' is not in the training vocabulary"):
        read_ptb(tmp_path)
    assert read_ptb(tmp_path, oov="unk").vocab[int(read_ptb(tmp_path, oov="unk").test[1])] == UNK
    _ptb(tmp_path, valid="\n  \n")
    with pytest.raises(DataError, match=r"ptb\.valid\.txt holds no words"):
        read_ptb(tmp_path)
    _ptb(tmp_path)
    (tmp_path / "ptb.train.txt").write_bytes(b" the caf\xe9 \n")
    with pytest.raises(DataError, match="is not UTF-8"):
        read_ptb(tmp_path)
    with pytest.raises(DataError, match="text dataset"):
        load_text_corpus("wikitext")


def test_shipped_corpus_matches_its_sidecar() -> None:
    meta = json.loads((text_corpus_path("train").parent / "jargon.meta.json").read_text(encoding="utf-8"))
    assert meta["licence"] == "public domain" and "jargon-text" in meta["source"]
    for split in ("train", "valid", "test"):
        path = text_corpus_path(split)
        assert file_sha256(path) == meta["files"][path.name]["sha256"]
    corpus = load_text_corpus("jargon")
    assert corpus.ntoken == meta["vocab_size"] + 1  # plus <eos>
    assert corpus.train.numel() == meta["files"]["jargon.train.txt.xz"]["words"] + 10766
    with pytest.raises(DataError, match="takes no data root"):
        load_text_corpus("jargon", "somewhere")
    assert read_jargon().valid.max() < corpus.ntoken


def test_batchify_and_get_batch() -> None:
    data = torch.arange(23)
    batched = batchify(data, 4)
    assert batched.shape == (5, 4) and batched[:, 1].tolist() == [5, 6, 7, 8, 9]
    x, y = get_batch(batched, 0, 3)
    assert x.shape == (3, 4) and y.tolist() == batched[1:4].reshape(-1).tolist()
    x, y = get_batch(batched, 3, 3)  # clipped at the end: rows - 1 - i = 1
    assert x.shape == (1, 4) and y.numel() == 4
    with pytest.raises(DataError, match="need at least 2"):
        batchify(torch.arange(5), 4)
    with pytest.raises(DataError, match="batch start"):
        get_batch(batched, 4, 3)
    with pytest.raises(DataError, match="batch_size"):
        batchify(data, 0)
