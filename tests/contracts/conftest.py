"""Tiny benchmark files for the contract suites: an NB101 table in the converted layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def nb101_table() -> pd.DataFrame:
    """A converted NB101 table (``bench convert-nb101`` layout): every cell of at most 4 vertices (so the reduced
    space of 4 vertices is whole) and 10 cells of each of 5-7 vertices, two repeats at 108 epochs, accuracies drawn
    from a fixed seed."""
    from nasaudit.spaces.nb101 import NB101Space, nb101_hash
    from nasaudit.truth.nb101_records import NB101_COLUMNS

    rng = np.random.default_rng(0)
    cells = list(NB101Space(max_vertices=4).enumerate())
    for vertices in (5, 6, 7):
        space = NB101Space(sampling="uniform", max_vertices=vertices)
        cells += [a for a in dict.fromkeys(space.sample_many(40, seed=vertices)) if len(a.ops) == vertices][:10]
    rows = []
    for arch in dict.fromkeys(cells):
        quality = rng.uniform(0.8, 0.95)
        for repeat in range(2):
            final = quality + rng.normal(0, 0.005)
            rows.append((nb101_hash(arch), str(arch), len(arch.ops), 108, repeat, 1_000_000, True,
                         100.0, quality, quality - 0.01, quality - 0.02, 200.0, final + 0.02, final + 0.01, final))
    return pd.DataFrame.from_records(rows, columns=list(NB101_COLUMNS))


@pytest.fixture(scope="session")
def nb101_csv() -> str:
    """The text of the tiny NB101 table as CSV."""
    return nb101_table().to_csv(index=False)
