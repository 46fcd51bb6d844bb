"""Shared fixtures: the real benchmark data in ../shared/data (skipped where it is absent)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NB201_CSV = SHARED_DATA / "nb201" / "nats_tss_test_acc_200ep.csv"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real published benchmark results beside the checkout."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real benchmark data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def nb201_csv(shared_data: Path) -> Path:
    """The real NAS-Bench-201 table (15,625 architectures, test accuracy on three datasets)."""
    if not NB201_CSV.is_file():
        pytest.skip(f"NB201 table not found at {NB201_CSV}")
    return NB201_CSV


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Run torch single-threaded: the test networks are tiny, and spinning threads on a busy 2-core
    machine makes them far slower, not faster."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
