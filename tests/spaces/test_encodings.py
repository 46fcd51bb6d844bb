"""Predictor encodings: one-hot, adjacency and path encodings of NB201 (and DARTS where defined)."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.errors import SpaceError
from nasaudit.spaces import DartsSpace, NB201Space, parse_nb201
from nasaudit.spaces.encodings import get_encoding

CONV_CHAIN = "|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|avg_pool_3x3~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


def test_path_encoding_of_nb201_counts_live_paths() -> None:
    space = NB201Space()
    encoding = get_encoding("path", space)
    assert encoding.dim == 4 + 16 + 64  # sequences of 1-3 non-zero ops
    chain, skips = encoding.encode([parse_nb201(CONV_CHAIN), parse_nb201(ALL_SKIP)])
    assert chain.sum() == 1  # only 0 -> 1 -> 2 -> 3 survives the zero edges
    assert skips.sum() == 3  # paths of length 1, 2 and 3, all skip-only sequences


def test_path_encoding_matches_hand_listed_nb201_paths() -> None:
    space = NB201Space()
    encoding = get_encoding("path", space)
    vocabulary = {i: seq for seq, i in encoding._index.items()}
    # NB201 edges in string order: 0->1, 0->2, 1->2, 0->3, 1->3, 2->3; its four input-output paths
    paths = [(3,), (0, 4), (1, 5), (0, 2, 5)]
    archs = space.sample_many(300, 0)
    for arch, row in zip(archs, encoding.encode(archs), strict=True):
        expected = {tuple(arch.ops[e] for e in path) for path in paths}
        expected = {seq for seq in expected if "none" not in seq}
        assert {vocabulary[i] for i in np.flatnonzero(row)} == expected


def test_onehot_and_adjacency_are_deterministic_and_distinguish_archs() -> None:
    space = NB201Space()
    archs = list(dict.fromkeys(space.sample_many(200, 1)))
    for name in ("onehot", "adjacency"):
        encoding = get_encoding(name, space)
        rows = encoding.encode(archs)
        assert rows.shape == (len(archs), encoding.dim)
        assert len({r.tobytes() for r in rows}) == len(archs)
        assert np.array_equal(rows, get_encoding(name, space).encode(archs))


def test_darts_has_onehot_and_adjacency_but_no_path_encoding() -> None:
    space = DartsSpace()
    archs = space.sample_many(5, 0)
    assert get_encoding("onehot", space).encode(archs).shape[0] == 5
    assert get_encoding("adjacency", space).encode(archs).shape[0] == 5
    with pytest.raises(SpaceError, match="single-input"):
        get_encoding("path", space)
    with pytest.raises(SpaceError, match="unknown encoding"):
        get_encoding("graph2vec", space)


def test_path_encoding_of_cells_of_different_sizes_and_fixed_ops() -> None:
    """NB101 cells have 2..7 vertices and an ``output`` edge, RNN cells a ``mean`` edge into the output: every
    path of every cell is in the vocabulary (BANANAS's NB101 encoding), and each cell has at least one."""
    from nasaudit.predictors import space_encoding
    from nasaudit.spaces import get_space
    from nasaudit.spaces.encodings import get_encoding

    for name in ("nb101", "rnn_reduced"):
        space = get_space(name)
        vectors = get_encoding("path", space).encode(space.sample_many(50, 0))
        assert (vectors.sum(axis=1) >= 1).all()
    assert space_encoding(get_space("rnn")).name == "adjacency"  # its path vocabulary would be millions long
