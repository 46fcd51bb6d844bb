"""Shared fixtures: the real benchmark data in ../shared/data (skipped where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
