"""Files shipped inside the package: the embedded mini-benchmark, the published NB201 tables (test accuracy, and
CIFAR-10 validation accuracy beside it), the Fashion-MNIST subset and its two training benchmarks (NB201 and DARTS
cells), the Jargon File text corpus and its reduced-RNN-space training benchmark, and the default audit spec."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from nasaudit.errors import DataError

EMBEDDED_BENCHMARK = "nb201_digits_mini.csv"
DEFAULT_SPEC = "default_audit.yaml"
NB201_TABLE = "nb201_test_acc_200ep.csv.xz"
NB201_VALID_TABLE = "nb201_valid_acc_200ep.csv.xz"
FASHION_SUBSET = "fashion_mnist_subset.npz"
FASHION_BENCHMARK = "nb201_fashion.csv"
DARTS_BENCHMARK = "darts_fashion.csv"
RNN_BENCHMARK = "rnn_jargon.csv"
#: the shipped English text corpus (the Jargon File, public domain), one file per split
TEXT_CORPUS = "jargon"


def _resource(name: str) -> Path:
    path = Path(str(resources.files(__name__).joinpath(name)))
    if not path.is_file():
        raise DataError(f"packaged file {name} is missing from {path.parent}; reinstall nasaudit")
    return path


def embedded_benchmark_path() -> Path:
    """The embedded mini-benchmark: NB201 cells trained on scikit-learn's digits (see its .meta.json)."""
    return _resource(EMBEDDED_BENCHMARK)


def nb201_table_path() -> Path:
    """The published NAS-Bench-201 table (all 15,625 cells, 200-epoch test accuracy on CIFAR-10, CIFAR-100 and
    ImageNet16-120; search-phase paper Sec. 3.1 ground truth), xz-compressed CSV (see its .meta.json)."""
    return _resource(NB201_TABLE)


def nb201_valid_table_path() -> Path:
    """NAS-Bench-201's CIFAR-10 validation accuracy of all 15,625 cells after 200 epochs (the ``cifar10-valid``
    split), to search on while reporting the test table (single-path paper Sec. 3.2); see its .meta.json."""
    return _resource(NB201_VALID_TABLE)


def fashion_subset_path() -> Path:
    """The stratified Fashion-MNIST subset behind dataset ``fashion`` (see its .meta.json)."""
    return _resource(FASHION_SUBSET)


def fashion_benchmark_path() -> Path:
    """The NB201 training benchmark on Fashion-MNIST at 8 px: equivalence classes of the full five-op space,
    each trained from scratch with 3 seeds (search-phase paper Sec. 3.2; see its .meta.json)."""
    return _resource(FASHION_BENCHMARK)


def darts_benchmark_path() -> Path:
    """The DARTS-space training benchmark on Fashion-MNIST at 8 px: sampled, PrimSkip-group, published and edited
    DARTS genotypes, each trained from scratch with 3 seeds (redundancy paper Sec. 3-4 offline; see its .meta.json)."""
    return _resource(DARTS_BENCHMARK)


def rnn_benchmark_path() -> Path:
    """The reduced RNN space's training benchmark on the Jargon File: all 32 two-node cells of ``rnn_reduced``,
    each trained from scratch as a word-level language model with 3 seeds (search-phase paper Sec. 4.2, Table 3A
    ground truth at CPU size; see its .meta.json and docs/rnn_space.md)."""
    return _resource(RNN_BENCHMARK)


#: tables shipped in the package, usable by name wherever a table path is accepted
PACKAGED_TABLES = {"embedded": EMBEDDED_BENCHMARK, "nb201": NB201_TABLE, "fashion": FASHION_BENCHMARK,
                   "darts_fashion": DARTS_BENCHMARK, "rnn_jargon": RNN_BENCHMARK}


#: (shipped table name, metric) -> the shipped file holding that metric, where it is not the name's own file:
#: ``nb201``'s validation accuracy lives beside its test table, which stays the file of every other metric
PACKAGED_METRIC_TABLES = {("nb201", "valid_acc"): NB201_VALID_TABLE,
                          ("nb201", "CIFAR10ValidAccuracy200Epochs"): NB201_VALID_TABLE}


def table_path(value: str | Path, metric: str | None = None) -> Path:
    """A benchmark table given by path, or by the name of a shipped one: ``nb201`` (the published NAS-Bench-201
    table; with ``metric`` ``valid_acc`` its CIFAR-10 validation table), ``fashion`` (the NB201 training benchmark
    on Fashion-MNIST), ``darts_fashion`` (the DARTS-cell training benchmark on Fashion-MNIST, e.g. for an
    ``nb301_surrogate`` evaluator), ``rnn_jargon`` (the 32 cells of ``rnn_reduced`` trained as language models on
    the Jargon File; metric ``test_score`` or ``val_score``), ``embedded`` (the digits mini-benchmark). A shipped
    name whose file is not installed raises ``DataError``."""
    name = str(value)
    if name not in PACKAGED_TABLES:
        return Path(value)
    return _resource(PACKAGED_METRIC_TABLES.get((name, metric or ""), PACKAGED_TABLES[name]))


def text_corpus_path(split: str) -> Path:
    """Split ``split`` (train, valid or test) of the shipped English corpus ``jargon``, xz-compressed text in the
    Penn Treebank layout (see ``jargon.meta.json`` and docs/text_data.md)."""
    return _resource(f"{TEXT_CORPUS}.{split}.txt.xz")


def default_spec_path() -> Path:
    """The spec ``nasaudit run`` runs when given none."""
    return _resource(DEFAULT_SPEC)
