"""NATS-Bench (topology, = NAS-Bench-201) official files as a table of search signal and reported score.

Built on the official API (``nats_bench``, optional: ``pip install "nasaudit[nb201]"``). Its
``get_more_info(index, dataset, iepoch, hp, is_random=False)`` returns, averaged over seeds, a dict with
``"<kind>-accuracy"`` (and ``-loss``, ``-per-time``, ``-all-time``) for the kinds ``train`` and, per dataset
(``nats_bench/api_topology.py``, D-X-Y/NATS-Bench):

* ``cifar10-valid``: ``valid`` = the x-valid half of CIFAR-10 train, ``test`` = the original test set;
* ``cifar10`` (trained on train+valid): ``test`` = the original test set only;
* ``cifar100``, ``ImageNet16-120``: ``valid`` = x-valid, ``test`` = x-test (halves of the original test
  set), ``valtest`` = the whole original test set.

``iepoch`` counts from 0 (``None`` is the last epoch); ``hp`` is ``"12"`` or ``"200"`` epochs. A search
must be driven by a signal it may see (validation) while the score it reports is a held-out one (test):
the search-phase paper (Sec. 3.1) and the single-path paper (Sec. 3, which uses the average validation
accuracy of the last 3 epochs as its ground truth) keep the two apart; so does this table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasaudit.errors import ConfigError, DataError
from nasaudit.truth.tabular import TabularBenchmark

NATS_DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
NATS_EPOCHS: dict[str, int] = {"12": 12, "200": 200}
METRIC_KINDS: tuple[str, ...] = ("train", "valid", "test", "valtest")
ARCH = "arch"
SIGNAL = "search_signal"
REPORTED = "reported"
INSTALL_HINT = 'install it with `pip install "nasaudit[nb201]"` (the nats_bench package)'
#: ``(architecture index, iepoch or None for the last epoch)`` -> the ``get_more_info`` dict
InfoFn = Callable[[int, int | None], Mapping[str, Any]]


def nats_frame(archs: Sequence[str], info: InfoFn, *, dataset: str = "cifar10-valid", hp: str = "200",
               signal: str = "valid", report: str = "test", last_k: int = 3,
               per_epoch: bool = False) -> pd.DataFrame:
    """One row per architecture: ``search_signal`` and ``reported`` at the last epoch, the signal averaged
    over the last ``last_k`` epochs (``search_signal_last<k>``; 0 leaves it out) and, with ``per_epoch``,
    the signal after every epoch (``search_signal@<epoch>``, epochs counted from 1).

    ``info`` answers like the official ``get_more_info`` (see the module docstring); a metric kind the
    dataset lacks (e.g. ``valid`` on ``cifar10``) raises ``DataError``.
    """
    _check_choice("dataset", dataset, NATS_DATASETS)
    _check_choice("hp", hp, tuple(NATS_EPOCHS))
    _check_choice("signal", signal, METRIC_KINDS)
    _check_choice("report", report, METRIC_KINDS)
    epochs = NATS_EPOCHS[hp]
    if not 0 <= last_k <= epochs:
        raise ConfigError(f"last_k must be between 0 and {epochs} for hp={hp!r}, got {last_k}")
    history = range(epochs) if per_epoch else range(epochs - last_k, epochs)
    records = []
    for index, arch in enumerate(archs):
        final = info(index, None)
        record: dict[str, Any] = {ARCH: arch, SIGNAL: _accuracy(final, signal, dataset, arch),
                                  REPORTED: _accuracy(final, report, dataset, arch)}
        curve = {e: _accuracy(info(index, e), signal, dataset, arch) for e in history}
        if last_k:
            record[f"{SIGNAL}_last{last_k}"] = float(np.mean([curve[e] for e in range(epochs - last_k, epochs)]))
        if per_epoch:
            record.update({f"{SIGNAL}@{e + 1}": curve[e] for e in range(epochs)})
        records.append(record)
    if not records:
        raise DataError("no architectures to tabulate")
    return pd.DataFrame.from_records(records)


def load_nats(path: str | Path, dataset: str = "cifar10-valid", *, hp: str = "200", signal: str = "valid",
              report: str = "test", last_k: int = 3, per_epoch: bool = False,
              search_space: str = "tss") -> TabularBenchmark:
    """Read an official NATS-Bench topology file (e.g. the ``NATS-tss-v1_0-3ffb9-simple`` folder) into a
    ``TabularBenchmark`` with the columns of ``nats_frame`` (needs the optional ``nats_bench`` package)."""
    location = Path(path).expanduser()
    try:
        nats_bench = importlib.import_module("nats_bench")
    except ImportError:
        raise ConfigError(f"reading NATS-Bench files needs the nats_bench package; {INSTALL_HINT}") from None
    if not location.exists():
        raise DataError(f"NATS-Bench file not found: {location}; download NATS-tss-v1_0-3ffb9-simple as described "
                        "at https://github.com/D-X-Y/NATS-Bench")
    try:
        api = nats_bench.create(str(location), search_space, fast_mode=location.is_dir(), verbose=False)
    except Exception as err:  # the API raises assorted types for unreadable files
        raise DataError(f"nats_bench cannot open {location}: {err}") from None
    return nats_benchmark(api, dataset, hp=hp, signal=signal, report=report, last_k=last_k, per_epoch=per_epoch,
                          source=str(location))


def nats_benchmark(api: Any, dataset: str = "cifar10-valid", *, hp: str = "200", signal: str = "valid",
                   report: str = "test", last_k: int = 3, per_epoch: bool = False,
                   source: str = "NATS-Bench") -> TabularBenchmark:
    """``nats_frame`` over every architecture of an open official API object (``nats_bench.create(...)``),
    seeds averaged (``is_random=False``), as a ``TabularBenchmark`` over NB201."""

    def info(index: int, iepoch: int | None) -> Mapping[str, Any]:
        return api.get_more_info(index, dataset, iepoch=iepoch, hp=hp, is_random=False)  # type: ignore[no-any-return, unused-ignore]

    frame = nats_frame([api.arch(i) for i in range(len(api))], info, dataset=dataset, hp=hp, signal=signal,
                       report=report, last_k=last_k, per_epoch=per_epoch)
    return TabularBenchmark.from_frame(frame, "nb201", ARCH, source=source)


def _accuracy(info: Mapping[str, Any], kind: str, dataset: str, arch: str) -> float:
    value = info.get(f"{kind}-accuracy")
    if value is None:
        have = sorted(k[: -len("-accuracy")] for k in info if k.endswith("-accuracy"))
        raise DataError(f"NATS-Bench {dataset!r} has no {kind!r} accuracy (it has {have}) for {arch}")
    return float(value)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {list(allowed)}, got {value!r}")
