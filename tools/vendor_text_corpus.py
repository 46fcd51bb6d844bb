"""Vendor the shipped English text corpus ``jargon`` (docs/text_data.md) into ``src/nasaudit/resources``.

Source: the Jargon File 4.4.7 (Eric S. Raymond et al.), public domain, as shipped by the Debian package
``jargon-text`` (``/usr/share/doc/jargon-text/jargon.txt.gz``; fetch it without installing with
``apt-get download jargon-text && dpkg-deb -x jargon-text_*.deb out``).

Usage:
  python tools/vendor_text_corpus.py out/usr/share/doc/jargon-text/jargon.txt.gz --package-version 4.4.7-4.1

Processing, in the layout of Mikolov's Penn Treebank files (one sentence per line, lower case, numbers as ``N``,
punctuation dropped, words outside a closed vocabulary as ``<unk>``):

* the entries start at the first ``:headword:`` line (the front matter and the headword index before it are
  skipped); an entry's headword line is dropped, its paragraphs kept (cross-reference braces removed);
* paragraphs are split into sentences after ``.``, ``!`` or ``?`` followed by a capital or a quote;
* tokens: lower-cased words (inner hyphens and periods kept, as PTB keeps ``u.s.``), contractions split as PTB does
  (``do n't``, ``it 's``), numbers replaced by ``N``; everything else dropped; sentences of fewer than 2 tokens dropped;
* split by entry: entry ``i`` (in file order) goes to valid when ``i % 10 == 8``, to test when ``i % 10 == 9``,
  else to train;
* vocabulary: the ``VOCAB_SIZE - 1`` most frequent training words (ties alphabetical) plus ``<unk>``; every
  other word in any split becomes ``<unk>``, so valid and test need no word outside the training vocabulary.

Writes ``jargon.{train,valid,test}.txt.xz`` and ``jargon.meta.json`` (source, licence notice, sha256s, counts).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import lzma
import re
from collections import Counter
from pathlib import Path

VOCAB_SIZE = 10_000
OUT = Path(__file__).resolve().parents[1] / "src" / "nasaudit" / "resources"
LICENCE = ("This document (the Jargon File) is in the public domain, to be freely used, shared, and modified. "
           "There are (by intention) no legal restraints on what you can do with it, but there are traditions about "
           "its proper use to which many hackers are quite strongly attached. Please extend the courtesy of proper "
           "citation when you quote the File, ideally with a version number, as it will change and grow over time. "
           "(Examples of appropriate citation form: \"Jargon File 4.4.7\" or \"The on-line hacker Jargon File, "
           "version 4.4.7, 29 Dec 2003\".) -- /usr/share/doc/jargon-text/copyright")

_HEADWORD = re.compile(r"^   :[^:]+:")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+(?=[A-Z\"“‘'(\[])")
_TOKEN = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*(?:'[a-z]+)?")
_QUOTES = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "—": " ", "–": " "})


def entries(text: str) -> list[list[str]]:
    """The paragraphs of each entry, in file order."""
    out: list[list[str]] = []
    paragraph: list[str] = []
    started = False

    def flush() -> None:
        if paragraph and out:
            out[-1].append(" ".join(paragraph))
        paragraph.clear()

    for line in text.splitlines():
        if _HEADWORD.match(line):
            flush()
            started = True
            out.append([])
            continue
        if not started:
            continue
        if line.strip():
            paragraph.append(line.strip())
        else:
            flush()
    flush()
    return out


def words(sentence: str) -> list[str]:
    """PTB-style tokens of one sentence (module doc)."""
    tokens: list[str] = []
    for raw in _TOKEN.findall(sentence.translate(_QUOTES).replace("{", "").replace("}", "").lower()):
        word = raw.strip(".-")
        if not word:
            continue
        if re.fullmatch(r"[0-9][0-9.\-]*", word):
            tokens.append("N")
        elif word.endswith("n't") and len(word) > 3:
            tokens.extend([word[:-3], "n't"])
        elif "'" in word:
            head, tail = word.split("'", 1)
            tokens.extend([t for t in (head, "'" + tail) if t != "'"])
        else:
            tokens.append(word)
    return tokens


def sentences(paragraph: str) -> list[list[str]]:
    return [toks for part in _SENTENCE_END.split(paragraph) if len(toks := words(part)) >= 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="jargon.txt.gz from the Debian package jargon-text")
    parser.add_argument("--package-version", required=True, help="the Debian package's version, e.g. 4.4.7-4.1")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    raw = args.source.read_bytes()
    text = gzip.decompress(raw).decode("utf-8")
    splits: dict[str, list[list[str]]] = {"train": [], "valid": [], "test": []}
    found = entries(text)
    for i, paragraphs in enumerate(found):
        name = "valid" if i % 10 == 8 else "test" if i % 10 == 9 else "train"
        for paragraph in paragraphs:
            splits[name].extend(sentences(paragraph))
    counts = Counter(w for s in splits["train"] for w in s)
    counts.pop("<unk>", None)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:VOCAB_SIZE - 1]
    vocab = {w for w, _ in ranked} | {"<unk>"}
    files: dict[str, dict[str, object]] = {}
    for name, sents in splits.items():
        body = "".join(" " + " ".join(w if w in vocab else "<unk>" for w in s) + " \n" for s in sents)
        data = body.encode("utf-8")
        packed = lzma.compress(data, preset=9)
        target = args.out / f"jargon.{name}.txt.xz"
        target.write_bytes(packed)
        n_words = sum(len(s) for s in sents)
        unk = sum(w not in vocab for s in sents for w in s)
        files[target.name] = {"sha256": hashlib.sha256(packed).hexdigest(),
                              "text_sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
                              "sentences": len(sents), "words": n_words, "unk_words": unk}
    meta = {
        "name": "jargon",
        "description": ("the Jargon File 4.4.7 (hacker slang glossary, running English prose) as a word-level "
                        "language-modelling corpus in the layout of Mikolov's Penn Treebank files"),
        "source": (f"Debian package jargon-text {args.package_version} (upstream "
                   "http://www.catb.org/~esr/jargon/jargsrc.tar.gz), /usr/share/doc/jargon-text/jargon.txt.gz"),
        "source_sha256": hashlib.sha256(raw).hexdigest(),
        "licence": "public domain",
        "licence_notice": LICENCE,
        "made_by": "tools/vendor_text_corpus.py (processing described in its docstring)",
        "vocab_size": len(vocab),
        "entries": len(found),
        "split": "entry i -> valid if i % 10 == 8, test if i % 10 == 9, else train",
        "files": files,
    }
    (args.out / "jargon.meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: meta[k] for k in ("vocab_size", "entries", "files")}, indent=2))


if __name__ == "__main__":
    main()
