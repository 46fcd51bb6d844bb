"""The official NAS-Bench-201 / NATS-Bench (topology) files, read through their own API packages.

Optional: needs ``pip install 'nasaudit[nb201]'`` (the ``nats_bench`` package) and the benchmark file
(e.g. ``NATS-tss-v1_0-3ffb9-simple``; the topology space "tss" is NAS-Bench-201). The whole benchmark
is read once into a ``TabularBenchmark`` with columns ``"<dataset>/<key>"`` (e.g.
``"cifar10-valid/valid-accuracy"``), so queries are batched table lookups afterwards (search-phase
paper, Sec. 3.1: ground truth from a benchmark).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from nasaudit.errors import DataError
from nasaudit.truth.tabular import TabularBenchmark

OFFICIAL_DATASETS: tuple[str, ...] = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
OFFICIAL_KEYS: tuple[str, ...] = ("train-accuracy", "valid-accuracy", "test-accuracy")
ARCH_COLUMN = "arch"
_INSTALL_HINT = "install it with `pip install 'nasaudit[nb201]'` (the nats_bench package)"
_DOWNLOAD_HINT = ("download the NATS-Bench topology benchmark (e.g. NATS-tss-v1_0-3ffb9-simple) as described "
                  "at https://github.com/D-X-Y/NATS-Bench")


def load_official(path: str | Path, datasets: Sequence[str] = OFFICIAL_DATASETS, hp: str = "200",
                  search_space: str = "tss") -> TabularBenchmark:
    """Read every architecture of an official NB201/NATS-Bench file into a ``TabularBenchmark``.

    ``hp`` is the training protocol (``"200"`` epochs, or ``"12"``); values are the API's mean over
    seeds (``is_random=False``). Needs the optional ``nats_bench`` package.
    """
    location = Path(path).expanduser()
    if not location.exists():
        raise DataError(f"official benchmark file not found: {location}; {_DOWNLOAD_HINT}")
    api = _create_api(location, search_space)
    records: list[dict[str, Any]] = []
    for index in range(len(api)):
        record: dict[str, Any] = {ARCH_COLUMN: api.arch(index)}
        for dataset in datasets:
            info = api.get_more_info(index, dataset, hp=hp, is_random=False)
            record.update({f"{dataset}/{key}": float(info[key]) for key in OFFICIAL_KEYS if key in info})
        records.append(record)
    return TabularBenchmark.from_frame(pd.DataFrame.from_records(records), "nb201", ARCH_COLUMN,
                                       source=str(location))


def _create_api(location: Path, search_space: str) -> Any:
    try:
        nats_bench = importlib.import_module("nats_bench")
    except ImportError:
        raise DataError(f"reading official NAS-Bench-201/NATS-Bench files needs the nats_bench package; "
                        f"{_INSTALL_HINT}") from None
    try:
        return nats_bench.create(str(location), search_space, fast_mode=True, verbose=False)
    except Exception as err:  # the API raises assorted types for unreadable files
        raise DataError(f"nats_bench cannot open {location}: {err}; {_DOWNLOAD_HINT}") from None
