from __future__ import annotations

import numpy as np
import pytest

from nasaudit.errors import ArchitectureError
from nasaudit.spaces import get_space
from nasaudit.spaces.nb201 import NB201_EDGES
from nasaudit.truth import TabularBenchmark
from nasaudit.weight_sharing.sharing import amount_of_sharing, sharing_archs
from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator
from nasaudit.weight_sharing.supernet.training import SupernetConfig, train_supernet

BASE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|none~1|none~2|"


def test_twelve_cells_grouped_by_shared_matrices() -> None:
    space = get_space("nb201")
    frame = sharing_archs(space, space.parse(BASE))
    assert len(frame) == 12  # 3 inputs x 4 ops, as in the paper's App. D.1
    assert frame.groupby("source")["shared"].first().to_dict() == {0: 0, 1: 1, 2: 3}
    for arch in frame["arch"]:
        assert sum(op != "none" for op in arch.ops[3:]) == 1
        assert arch.ops[:3] == ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_1x1")


def test_a_space_without_none_keeps_the_base_on_the_other_inputs(tiny_splits) -> None:
    """Regression: a space without ``none`` (e.g. ``--mask none``) used to be refused."""
    config = SupernetConfig(mask=("none",), channels=4, depth=1, epochs=1, batch_size=96, flip=False)
    space = config.make_space()
    base = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|"
                       "nor_conv_1x1~2|")
    frame = sharing_archs(space, base)
    assert len(frame) == 12 and set(frame["op"]) == set(space.ops)  # 3 inputs x the 4 ops left
    assert frame.groupby("source")["shared"].first().to_dict() == {0: 0, 1: 1, 2: 3}
    for arch, src, op in zip(frame["arch"], frame["source"], frame["op"], strict=True):
        space.validate(arch)
        expected = list(base.ops)
        expected[NB201_EDGES.index((src, 3))] = op
        assert arch.ops == tuple(expected)
    run = train_supernet(config, tiny_splits, seed=0)
    scores = SupernetEvaluator(run.supernet, run.splits).evaluate(list(frame["arch"]))
    assert scores.shape == (12,) and np.isfinite(scores).all()
    with pytest.raises(ArchitectureError):  # the base must belong to the space
        sharing_archs(space, get_space("nb201").parse(BASE))


def test_amount_of_sharing_against_nb201_smoke(nb201_csv, tiny_splits) -> None:
    """Plumbing only: a supernet trained on the embedded digits, ground truth from NB201 CIFAR-10."""
    space = get_space("nb201")
    frame = sharing_archs(space, space.parse(BASE))
    truth = TabularBenchmark.from_file(nb201_csv).query(list(frame["arch"]), "CIFAR10TestAccuracy200Epochs")
    predictions = []
    for seed in (0, 1):
        run = train_supernet(SupernetConfig(channels=4, depth=1, epochs=1, batch_size=96, flip=False),
                             tiny_splits, seed=seed)
        predictions.append(SupernetEvaluator(run.supernet, run.splits).evaluate(list(frame["arch"])))
    table = amount_of_sharing(frame, truth, np.stack(predictions))
    assert list(table["shared"]) == [0, 1, 3] and (table["archs"] == 4).all()
    perfect = amount_of_sharing(frame, truth, truth[None])
    assert np.allclose(perfect["tau_mean"], 1.0)
