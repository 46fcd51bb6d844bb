"""Run torch single-threaded here: the networks are tiny, and spinning threads on a busy 2-core box
make them far slower, not faster."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
