from __future__ import annotations

import numpy as np
import pytest

from nasaudit.benchmarks import TabularBenchmark
from nasaudit.errors import ConfigError
from nasaudit.spaces import get_space
from nasaudit.supernet.evaluator import SupernetEvaluator
from nasaudit.supernet.sharing import amount_of_sharing, sharing_archs
from nasaudit.supernet.training import SupernetConfig, train_supernet

BASE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|none~1|none~2|"


def test_twelve_cells_grouped_by_shared_matrices() -> None:
    space = get_space("nb201")
    frame = sharing_archs(space, space.parse(BASE))
    assert len(frame) == 12  # 3 inputs x 4 ops, as in the paper's App. D.1
    assert frame.groupby("source")["shared"].first().to_dict() == {0: 0, 1: 1, 2: 3}
    for arch in frame["arch"]:
        assert sum(op != "none" for op in arch.ops[3:]) == 1
        assert arch.ops[:3] == ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_1x1")
    with pytest.raises(ConfigError, match="none"):
        sharing_archs(space.restrict(["skip_connect", "nor_conv_3x3"]), space.parse(
            "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"))


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
