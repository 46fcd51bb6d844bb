"""NATS-Bench conversion: the pure logic on dicts in the exact layout of the official ``get_more_info``."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasaudit.errors import ConfigError, DataError
from nasaudit.spaces import NB201Space
from nasaudit.truth.nats import load_nats, nats_frame

ARCHS = [str(a) for a in NB201Space().sample_many(4, 0)]


def official_info(dataset: str, epochs: int) -> Any:
    """``get_more_info(index, dataset, iepoch, hp, is_random=False)`` answers for a small table: the keys the
    official API returns for ``dataset`` (api_topology.py), accuracies growing with the epoch."""
    kinds = {"cifar10-valid": ("train", "valid", "test"), "cifar10": ("train", "test")}.get(
        dataset, ("train", "valid", "test", "valtest"))
    # "test" is the original test set on the CIFAR-10 datasets, its x-test half on the others
    offset = {"train": 10.0, "valid": 0.0, "test": -0.5 if dataset in ("cifar10-valid", "cifar10")
              else -1.0, "valtest": -0.5}

    def info(index: int, iepoch: int | None) -> Mapping[str, Any]:
        epoch = epochs - 1 if iepoch is None else iepoch
        assert 0 <= epoch < epochs
        out: dict[str, Any] = {}
        for kind in kinds:
            accuracy = 50.0 + 3 * index + 0.1 * epoch + offset[kind]
            out |= {f"{kind}-loss": 1.0 / (1 + epoch), f"{kind}-accuracy": accuracy,
                    f"{kind}-per-time": 0.5, f"{kind}-all-time": 0.5 * (epoch + 1)}
        return out
    return info


def test_signal_and_report_are_separate_columns_with_last3_mean() -> None:
    frame = nats_frame(ARCHS, official_info("cifar100", 200), dataset="cifar100", hp="200")
    assert list(frame.columns) == ["arch", "search_signal", "reported", "search_signal_last3"]
    assert frame["search_signal"].tolist() == [50.0 + 3 * i + 19.9 for i in range(4)]
    assert frame["reported"].tolist() == [49.0 + 3 * i + 19.9 for i in range(4)]
    expected = [np.mean([50.0 + 3 * i + 0.1 * e for e in (197, 198, 199)]) for i in range(4)]
    assert frame["search_signal_last3"].to_numpy() == pytest.approx(expected, abs=1e-12)


def test_per_epoch_curve_and_other_kinds() -> None:
    frame = nats_frame(ARCHS, official_info("ImageNet16-120", 12), dataset="ImageNet16-120", hp="12",
                       signal="valtest", report="test", last_k=0, per_epoch=True)
    assert [c for c in frame.columns if "@" in c] == [f"search_signal@{e}" for e in range(1, 13)]
    assert "search_signal_last3" not in frame.columns
    assert frame.loc[2, "search_signal@1"] == pytest.approx(55.5)
    assert frame["search_signal@12"].tolist() == frame["search_signal"].tolist()


def test_missing_kind_and_bad_choices() -> None:
    with pytest.raises(DataError, match="'cifar10' has no 'valid' accuracy"):
        nats_frame(ARCHS, official_info("cifar10", 200), dataset="cifar10")
    frame = nats_frame(ARCHS, official_info("cifar10", 200), dataset="cifar10", signal="train", last_k=1)
    assert frame["search_signal_last1"].tolist() == frame["search_signal"].tolist()
    with pytest.raises(ConfigError, match="hp must be one of"):
        nats_frame(ARCHS, official_info("cifar10", 200), hp="100")
    with pytest.raises(ConfigError, match="last_k must be between 0 and 12"):
        nats_frame(ARCHS, official_info("cifar10-valid", 12), hp="12", last_k=13)


def test_missing_package_gives_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nats_bench", None)
    with pytest.raises(ConfigError, match=r'pip install "nasaudit\[nb201\]"'):
        load_nats(tmp_path)


def real_api(epochs: dict[str, int]) -> Any:
    """The official API object over a tiny benchmark built from its own result classes (needs nats_bench)."""
    nats_bench = pytest.importorskip("nats_bench")
    from nats_bench.api_utils import ArchResults, ResultsCount

    sets = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": ("ori-test",),
            "cifar100": ("x-valid", "x-test", "ori-test"), "ImageNet16-120": ("x-valid", "x-test", "ori-test")}
    offset = {"x-valid": 0.0, "x-test": -1.0, "ori-test": -0.5}
    arch2infos: dict[int, dict[str, Any]] = {}
    for index, arch in enumerate(ARCHS):
        arch2infos[index] = {}
        for hp, total in epochs.items():
            results = ArchResults(index, arch)
            for dataset, names in sets.items():
                results.dataset_seed[dataset] = [777, 888]
                for seed in (777, 888):
                    shift = 0.2 if seed == 888 else -0.2
                    count = ResultsCount(dataset, None, {e: 60.0 + e for e in range(total)}, {e: 1.0 for e in range(total)},
                                         1.0, 10.0, {"arch_str": arch}, seed, total, None)
                    accs = {f"{n}@{e}": 50.0 + 3 * index + 0.1 * e + offset[n] + shift for n in names for e in range(total)}
                    count.update_eval(accs, {k: 1.0 for k in accs}, {k: 0.1 for k in accs})
                    results.all_results[(dataset, seed)] = count
            arch2infos[index][hp] = results.state_dict()
    content = {"meta_archs": ARCHS, "arch2infos": arch2infos, "evaluated_indexes": list(range(len(ARCHS)))}
    return nats_bench.create(content, "tss", fast_mode=False, verbose=False)


def test_real_api_layout_matches_the_documented_one() -> None:
    from nasaudit.truth.nats import nats_benchmark

    api = real_api({"12": 12, "200": 200})
    for dataset in ("cifar10-valid", "cifar100"):
        mine = nats_frame(ARCHS, official_info(dataset, 200), dataset=dataset)
        bench = nats_benchmark(api, dataset)
        assert bench.archs() == [NB201Space().parse(a) for a in ARCHS]
        for column in mine.columns[1:]:
            assert bench.scores(column) == pytest.approx(mine[column].to_numpy(), abs=1e-9)
    c10 = nats_benchmark(api, "cifar10", hp="12", signal="train", report="test", last_k=3, per_epoch=True)
    assert c10.scores("search_signal@1").tolist() == [60.0] * 4
    assert c10.scores("reported") == pytest.approx([49.5 + 3 * i + 1.1 for i in range(4)])
    with pytest.raises(DataError, match="'cifar10' has no 'valid' accuracy"):
        nats_benchmark(api, "cifar10")
