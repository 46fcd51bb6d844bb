"""The t-SNE cell map (redundancy paper Fig. 2): per-cell encodings, seeded maps, the top cells' spread."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.analysis.cell_map import cell_features, cell_map, spread, tsne_map
from nasaudit.analysis.published import published_genotype
from nasaudit.errors import DataError
from nasaudit.spaces import DartsSpace, NB201Space
from nasaudit.spaces.encodings import get_encoding


@pytest.mark.parametrize("name", ["onehot", "adjacency"])
def test_darts_cells_are_encoded_apart(name: str) -> None:
    space = DartsSpace()
    first, second = space.sample_many(2, seed=4)
    mixed = first.replace("reduce", second.reduce)  # the first's normal cell with the second's reduce cell
    features = cell_features(get_encoding(name, space), [first, mixed, second])
    assert list(features) == ["normal", "reduce"]
    normal, reduce = features["normal"], features["reduce"]
    assert normal.shape == reduce.shape and normal.shape[0] == 3
    np.testing.assert_array_equal(normal[0], normal[1])  # the normal part ignores the reduce cell
    np.testing.assert_array_equal(reduce[1], reduce[2])  # and the reduce part the normal cell
    assert not np.array_equal(normal[1], normal[2]) and not np.array_equal(reduce[0], reduce[1])


def test_a_single_cell_space_has_one_map_and_the_map_is_seeded() -> None:
    space = NB201Space()
    archs = list(dict.fromkeys(space.sample_many(40, seed=1)))
    encoding = get_encoding("onehot", space)
    assert list(cell_features(encoding, archs)) == ["cell"]
    scores = np.arange(len(archs), dtype=float)
    top = scores >= scores[-4]
    first = cell_map(encoding, archs, scores, top, seed=3, perplexity=5)
    again = cell_map(encoding, archs, scores, top, seed=3, perplexity=5)
    assert list(first.columns) == ["cell", "arch", "score", "top", "x", "y"] and len(first) == len(archs)
    assert first.to_csv().encode() == again.to_csv().encode()
    assert first["top"].sum() == 4 and np.isfinite(first[["x", "y"]].to_numpy()).all()
    with pytest.raises(DataError, match="perplexity"):
        tsne_map(encoding.encode(archs), seed=0, perplexity=len(archs))
    with pytest.raises(DataError, match="top flags"):
        cell_map(encoding, archs, scores, top[:-1], seed=0, perplexity=5)


def test_spread_of_identical_top_cells_is_zero() -> None:
    space = DartsSpace()
    archs = [published_genotype("DARTS_V2")] * 3 + space.sample_many(20, seed=0)
    top = np.arange(len(archs)) < 3
    table = spread(get_encoding("onehot", space), archs, top).set_index("cell")
    assert table["ratio"].tolist() == [0.0, 0.0] and (table["distance_all"] > 0).all()
    assert table.loc["normal", ["n_all", "n_top"]].tolist() == [23, 3]
    with pytest.raises(DataError, match="at least 2 top"):
        spread(get_encoding("onehot", space), archs, np.arange(len(archs)) < 1)
