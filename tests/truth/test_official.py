"""The official-file loader: a fake nats_bench API stands in for the optional package and file."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from nasaudit.errors import DataError
from nasaudit.spaces import NB201Space
from nasaudit.truth import load_official


class FakeApi:
    def __init__(self) -> None:
        self.archs = [str(a) for a in NB201Space().sample_many(5, 0)]

    def __len__(self) -> int:
        return len(self.archs)

    def arch(self, index: int) -> str:
        return self.archs[index]

    def get_more_info(self, index: int, dataset: str, hp: str, is_random: bool) -> dict[str, Any]:
        assert hp == "200" and is_random is False
        info = {"train-accuracy": 99.0 - index, "test-accuracy": 90.0 - index, "test-loss": 0.3}
        if dataset == "cifar10-valid":
            info["valid-accuracy"] = 80.0 - index
        return info


@pytest.fixture
def fake_nats(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("nats_bench")
    module.create = lambda path, space, fast_mode, verbose: FakeApi()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nats_bench", module)


def test_reads_every_arch_and_dataset(tmp_path: Path, fake_nats: None) -> None:
    file = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    file.mkdir()
    bench = load_official(file, datasets=("cifar10-valid", "cifar10"))
    assert len(bench) == 5
    assert bench.metrics == ["cifar10-valid/train-accuracy", "cifar10-valid/valid-accuracy",
                             "cifar10-valid/test-accuracy", "cifar10/train-accuracy", "cifar10/test-accuracy"]
    archs = bench.archs()
    assert bench.query(archs[1:3], "valid_acc", dataset="cifar10-valid").tolist() == [79.0, 78.0]
    assert bench.query(archs[:1], "test_acc", dataset="cifar10").tolist() == [90.0]


def test_missing_package_gives_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nats_bench", None)
    with pytest.raises(DataError, match=r"pip install 'nasaudit\[nb201\]'"):
        load_official(tmp_path)


def test_missing_file_gives_download_hint(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"not found.*download"):
        load_official(tmp_path / "NATS-tss-v1_0-3ffb9-simple")


def test_unreadable_file_gives_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("nats_bench")

    def broken(path: str, space: str, fast_mode: bool, verbose: bool) -> None:
        raise ValueError("invalid load key")

    module.create = broken  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nats_bench", module)
    with pytest.raises(DataError, match=r"nats_bench cannot open .*invalid load key"):
        load_official(tmp_path)
