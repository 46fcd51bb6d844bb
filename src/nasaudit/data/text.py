"""Word-level text corpora for the recurrent-cell experiments (search-phase paper Sec. 3-4: Penn Treebank,
perplexity): the reader of a user's PTB folder, the shipped English corpus, and batching for truncated BPTT.

The layout is Mikolov's Penn Treebank files (``ptb.train.txt``, ``ptb.valid.txt``, ``ptb.test.txt``): one
sentence per line, words separated by spaces, rare words already ``<unk>``. As DARTS's ``rnn/data.py``
(quark0/darts, commit 8876e79) does, each line becomes its words plus ``<eos>``, and ids follow first appearance;
unlike it, the vocabulary is built from the training file alone and a valid/test word outside it is an error
(``oov="error"``, PTB's vocabulary is closed) or ``<unk>`` (``oov="unk"``). ``batchify`` and ``get_batch`` follow
DARTS's ``rnn/utils.py`` (the AWD-LSTM code): trim to a multiple of the batch size and lay the stream out as
``[n, batch]`` columns; a batch is ``bptt`` rows and the rows one step later as targets.

``jargon`` is the shipped corpus (docs/text_data.md): the public-domain Jargon File 4.4.7 from Debian's
``jargon-text``, made by ``tools/vendor_text_corpus.py`` in the same layout with a 10,000-word vocabulary.
"""

from __future__ import annotations

import functools
import lzma
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from nasaudit.errors import DataError
from nasaudit.limits import MAX_BATCH, MAX_BPTT, MAX_TEXT_BYTES, MAX_VOCAB
from nasaudit.registry import unknown_name_message

EOS = "<eos>"
UNK = "<unk>"
SPLITS = ("train", "valid", "test")
#: the official file of each split in a PTB folder
PTB_FILES = {split: f"ptb.{split}.txt" for split in SPLITS}
#: text corpora by name; ``ptb`` is read from a folder, ``jargon`` ships with the package
TEXT_DATASETS: tuple[str, ...] = ("ptb", "jargon")
#: text corpora a fresh install can load without a folder
TEXT_WITHOUT_ROOT: tuple[str, ...] = ("jargon",)


@dataclass(frozen=True)
class TextCorpus:
    """A tokenised corpus: ``vocab[i]`` is the word of id ``i``; each split a 1-D int64 tensor of ids."""

    name: str
    vocab: tuple[str, ...]
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor

    @property
    def ntoken(self) -> int:
        return len(self.vocab)

    def split(self, name: str) -> torch.Tensor:
        if name not in SPLITS:
            raise DataError(f"a text corpus has splits {list(SPLITS)}, not {name!r}")
        return {"train": self.train, "valid": self.valid, "test": self.test}[name]

    def prefix(self, train: int, valid: int, test: int) -> TextCorpus:
        """The first ``train``/``valid``/``test`` tokens of each split, same vocabulary (quick runs and tests)."""
        for what, n in (("train", train), ("valid", valid), ("test", test)):
            if n < 2:
                raise DataError(f"a {what} prefix needs at least 2 tokens, got {n}")
        return TextCorpus(self.name, self.vocab, self.train[:train], self.valid[:valid], self.test[:test])


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{source} is not UTF-8 text (byte {err.start}: {data[err.start:err.start + 1]!r})") from None


def read_text_file(path: Path) -> str:
    """A UTF-8 text file of at most ``MAX_TEXT_BYTES``, checked before it is read."""
    if not path.is_file():
        raise DataError(f"text file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_TEXT_BYTES:
        raise DataError(f"text file {path} has {size:,} bytes; at most {MAX_TEXT_BYTES:,} are read")
    return _decode(path.read_bytes(), str(path))


def read_xz_text(path: Path) -> str:
    """An xz-compressed UTF-8 text file, decompressed to at most ``MAX_TEXT_BYTES``."""
    decompressor = lzma.LZMADecompressor()
    try:
        data = decompressor.decompress(path.read_bytes(), max_length=MAX_TEXT_BYTES + 1)
    except lzma.LZMAError as err:
        raise DataError(f"{path} is not a valid xz file: {err}") from None
    if len(data) > MAX_TEXT_BYTES or not decompressor.eof:
        raise DataError(f"{path} decompresses to more than {MAX_TEXT_BYTES:,} bytes or is truncated")
    return _decode(data, str(path))


def line_words(text: str) -> list[list[str]]:
    """Each non-blank line's words plus ``<eos>`` (DARTS ``rnn/data.py``: ``line.split() + ['<eos>']``; a blank
    line, which PTB's files do not have, is skipped instead of becoming a lone ``<eos>``)."""
    return [[*words, EOS] for line in text.splitlines() if (words := line.split())]


def build_vocab(lines: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The words of ``lines`` in order of first appearance (DARTS's ``Dictionary.add_word`` order)."""
    seen: dict[str, None] = {}
    for words in lines:
        for word in words:
            seen.setdefault(word, None)
            if len(seen) > MAX_VOCAB:
                raise DataError(f"the vocabulary exceeds {MAX_VOCAB:,} words")
    return tuple(seen)


def encode(lines: Sequence[Sequence[str]], vocab: Sequence[str], source: str,
           oov: Literal["error", "unk"] = "error") -> torch.Tensor:
    """The ids of ``lines``' words in ``vocab``; a word outside it is an error naming ``source`` and the line, or
    ``<unk>`` with ``oov="unk"`` (which needs ``<unk>`` in the vocabulary)."""
    index = {word: i for i, word in enumerate(vocab)}
    unk = index.get(UNK)
    if oov == "unk" and unk is None:
        raise DataError(f"oov='unk' needs {UNK} in the training vocabulary, which has none")
    ids: list[int] = []
    for number, words in enumerate(lines, start=1):
        for word in words:
            i = index.get(word, unk if oov == "unk" else None)
            if i is None:
                raise DataError(f"{source} line {number}: word {word!r} is not in the training vocabulary (PTB's "
                                "vocabulary is closed; pass oov='unk' to map such words to <unk>)")
            ids.append(i)
    if not ids:
        raise DataError(f"{source} holds no words")
    return torch.tensor(ids, dtype=torch.int64)


def corpus_from_texts(name: str, texts: dict[str, str], sources: dict[str, str],
                      oov: Literal["error", "unk"] = "error") -> TextCorpus:
    """Tokenise the three splits' texts (module doc); the vocabulary comes from ``train``."""
    if oov not in ("error", "unk"):
        raise DataError(f"oov must be 'error' or 'unk', got {oov!r}")
    lines = {split: line_words(texts[split]) for split in SPLITS}
    for split in SPLITS:
        if not lines[split]:
            raise DataError(f"{sources[split]} holds no words")
    vocab = build_vocab(lines["train"])
    ids = {split: encode(lines[split], vocab, sources[split], oov) for split in SPLITS}
    return TextCorpus(name, vocab, ids["train"], ids["valid"], ids["test"])


def read_ptb(root: str | Path, oov: Literal["error", "unk"] = "error") -> TextCorpus:
    """The Penn Treebank (Mikolov et al.'s preprocessing) from ``root`` holding ``ptb.{train,valid,test}.txt``."""
    folder = Path(root)
    if not folder.is_dir():
        raise DataError(f"PTB folder {folder} does not exist")
    paths = {split: folder / PTB_FILES[split] for split in SPLITS}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise DataError(f"PTB folder {folder} lacks {', '.join(missing)} (expected {', '.join(PTB_FILES.values())})")
    return corpus_from_texts("ptb", {s: read_text_file(p) for s, p in paths.items()},
                             {s: str(p) for s, p in paths.items()}, oov)


def read_jargon() -> TextCorpus:
    """The shipped corpus ``jargon`` (module doc; vocabulary closed by construction). Tokenised once per process
    (a build trains many cells on it); each call gets its own copy of the id tensors."""
    corpus = _tokenised_jargon()
    return TextCorpus(corpus.name, corpus.vocab, corpus.train.clone(), corpus.valid.clone(), corpus.test.clone())


@functools.lru_cache(maxsize=1)
def _tokenised_jargon() -> TextCorpus:
    from nasaudit.resources import text_corpus_path

    paths = {split: text_corpus_path(split) for split in SPLITS}
    return corpus_from_texts("jargon", {s: read_xz_text(p) for s, p in paths.items()},
                             {s: f"shipped {p.name}" for s, p in paths.items()})


def load_text_corpus(name: str, root: str | Path | None = None,
                     oov: Literal["error", "unk"] = "error") -> TextCorpus:
    """Text corpus ``name``: ``ptb`` from the folder ``root``; ``jargon`` shipped (no ``root``)."""
    if name not in TEXT_DATASETS:
        raise DataError(unknown_name_message("text dataset", name, list(TEXT_DATASETS)))
    if name == "jargon":
        if root is not None:
            raise DataError("text dataset 'jargon' ships with the package and takes no data root")
        return read_jargon()
    if root is None:
        raise DataError("text dataset 'ptb' needs a data root: the folder holding ptb.train.txt, ptb.valid.txt "
                        "and ptb.test.txt")
    return read_ptb(root, oov)


def batchify(data: torch.Tensor, batch_size: int) -> torch.Tensor:
    """The 1-D token stream as ``[n, batch_size]`` columns, the tail that does not fill a row dropped (DARTS
    ``rnn/utils.py`` ``batchify``): column ``j`` is the ``j``-th consecutive slice of the stream."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise DataError(f"batch_size must be a whole number in [1, {MAX_BATCH:,}], got {batch_size!r}")
    if data.dim() != 1:
        raise DataError(f"batchify takes a 1-D token stream, got shape {tuple(data.shape)}")
    rows = data.numel() // batch_size
    if rows < 2:
        raise DataError(f"{data.numel()} tokens make {rows} row(s) of batch {batch_size}; need at least 2")
    return data[:rows * batch_size].view(batch_size, rows).t().contiguous()


def get_batch(source: torch.Tensor, i: int, bptt: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows ``[i, i + L)`` of ``source`` and the rows one step later as targets, flattened to ``[L * batch]``,
    with ``L = min(bptt, rows - 1 - i)`` (DARTS ``rnn/utils.py`` ``get_batch``)."""
    if not 1 <= bptt <= MAX_BPTT:
        raise DataError(f"bptt must be in [1, {MAX_BPTT:,}], got {bptt}")
    rows = source.shape[0]
    if not 0 <= i < rows - 1:
        raise DataError(f"batch start {i} outside [0, {rows - 1}) for {rows} rows")
    length = min(bptt, rows - 1 - i)
    return source[i:i + length], source[i + 1:i + 1 + length].reshape(-1)
