"""A t-SNE map of cells coloured by accuracy (redundancy paper Sec. 3, Fig. 2).

Each architecture is encoded with one of the space's encodings (``nasaudit.spaces.encodings``); a DARTS genotype's
encoding is the normal cell's part followed by the reduce cell's, of equal width, so the two cells are mapped apart
as the paper analyses them. The map is scikit-learn's Barnes-Hut t-SNE, seeded and run on one thread (its OpenMP
sums are then in a fixed order, so the coordinates are byte-identical across runs and machines). Fig. 2 reads the
map as "the top architectures are well spread out in the space"; ``spread`` measures that in the encoding itself
(t-SNE distances are not to scale): the mean pairwise distance among the top cells over that among all cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasaudit.analysis.operations import SINGLE_CELL
from nasaudit.errors import DataError
from nasaudit.spaces.darts import CELL_TYPES, DartsSpace
from nasaudit.spaces.encodings import Encoding


def cell_features(encoding: Encoding, archs: Sequence[Any]) -> dict[str, np.ndarray]:
    """Per cell type (``normal``/``reduce`` for DARTS, ``cell`` otherwise) one encoded row per arch."""
    rows = encoding.encode(archs)
    if not isinstance(encoding.space, DartsSpace):
        return {SINGLE_CELL: rows}
    halves = np.split(rows, len(CELL_TYPES), axis=1)  # normal part first, then reduce (see the module docstring)
    return dict(zip(CELL_TYPES, halves, strict=True))


def tsne_map(features: np.ndarray, seed: int, perplexity: float) -> np.ndarray:
    """2-D t-SNE coordinates of ``features`` (scikit-learn, PCA init, seeded, one thread), shape ``(n, 2)``."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    if not 0 < perplexity < len(features):
        raise DataError(f"t-SNE needs a perplexity in (0, number of architectures = {len(features)}), got {perplexity}")
    with threadpool_limits(limits=1):
        coords = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)
    return np.asarray(coords, dtype=np.float64)


def cell_map(encoding: Encoding, archs: Sequence[Any], scores: np.ndarray, top: np.ndarray, seed: int,
             perplexity: float) -> pd.DataFrame:
    """The t-SNE map of every cell type: columns ``cell, arch, score, top, x, y`` (``top`` flags the best archs)."""
    scores = np.asarray(scores, dtype=float)
    if len(scores) != len(archs) or len(top) != len(archs):
        raise DataError(f"{len(scores)} scores and {len(top)} top flags for {len(archs)} architectures")
    frames = []
    for cell, features in cell_features(encoding, archs).items():
        coords = tsne_map(features, seed, perplexity)
        frames.append(pd.DataFrame({"cell": cell, "arch": [str(a) for a in archs], "score": scores,
                                    "top": np.asarray(top, dtype=bool), "x": coords[:, 0], "y": coords[:, 1]}))
    return pd.concat(frames, ignore_index=True)


def spread(encoding: Encoding, archs: Sequence[Any], top: np.ndarray) -> pd.DataFrame:
    """Per cell type: mean pairwise Euclidean distance of the encodings among the ``top`` archs and among all, and
    their ratio (about 1: the top cells cover the space as widely as random ones, Fig. 2's reading)."""
    from scipy.spatial.distance import pdist

    top = np.asarray(top, dtype=bool)
    if top.sum() < 2:
        raise DataError(f"the spread needs at least 2 top architectures, got {int(top.sum())}")
    rows = []
    for cell, features in cell_features(encoding, archs).items():
        among_top, among_all = float(pdist(features[top]).mean()), float(pdist(features).mean())
        rows.append({"cell": cell, "n_all": len(features), "n_top": int(top.sum()), "distance_top": among_top,
                     "distance_all": among_all, "ratio": among_top / among_all})
    return pd.DataFrame(rows)
