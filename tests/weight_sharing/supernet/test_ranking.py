from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from nasaudit.errors import DataError
from nasaudit.spaces import get_space
from nasaudit.train import get_protocol, train_arch
from nasaudit.truth import TabularBenchmark
from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator
from nasaudit.weight_sharing.supernet.ranking import (
    TOP_NS,
    ground_truth_ceiling,
    rank_disorder,
    ranking_report,
    select_ranking_set,
    space_truth,
    weight_sharing_comparison,
)
from nasaudit.weight_sharing.supernet.training import SupernetConfig, train_supernet

CIFAR10 = "CIFAR10TestAccuracy200Epochs"


@pytest.fixture(scope="module")
def nb201(nb201_csv) -> TabularBenchmark:
    return TabularBenchmark.from_file(nb201_csv)


def test_ranking_set_of_a_masked_space_on_real_nb201(nb201) -> None:
    space = get_space("nb201").restrict(["skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"])
    rset = select_ranking_set(nb201, CIFAR10, space, seed=0)
    assert rset.space_size == 4 ** 6 and rset.ns == TOP_NS and rset.random.size == 1000
    assert all("none" not in a.ops for a in rset.archs)
    archs, truth = space_truth(nb201, CIFAR10, space)
    assert len(archs) == 4 ** 6
    best = np.sort(truth)[::-1][:500]
    assert np.array_equal(rset.truth[:500], best)  # the true top-500 of the masked space, best first
    assert len(set(rset.archs)) == len(rset.archs)
    again = select_ranking_set(nb201, CIFAR10, space, seed=0)
    assert again.archs == rset.archs


def test_small_space_is_evaluated_in_full(nb201) -> None:
    space = get_space("nb201").restrict(["skip_connect", "nor_conv_3x3"])
    rset = select_ranking_set(nb201, CIFAR10, space)
    assert rset.space_size == 64 and len(rset.archs) == 64 and rset.random.size == 64
    assert rset.ns == (10, 25, 50)


def test_report_of_perfect_and_of_reversed_predictions(nb201) -> None:
    space = get_space("nb201").restrict(["skip_connect", "nor_conv_1x1", "nor_conv_3x3"])
    rset = select_ranking_set(nb201, CIFAR10, space)
    perfect = ranking_report(rset, np.stack([rset.truth, rset.truth + 1.0]), seeds=[0, 1])
    curve = perfect.curve.set_index("n")
    assert list(perfect.curve["group"]) == ["top"] * len(rset.ns) + ["random"]
    assert np.allclose(perfect.curve["tau_mean"], 1.0)
    assert np.allclose(curve.loc[10, "pred_mean"], np.sort(rset.truth)[::-1][:10].mean() + 0.5)
    summary = perfect.summary.set_index("metric")
    assert summary.loc["tau_a", "mean"] == pytest.approx(-1.0)
    assert summary.loc["spearman", "mean"] == pytest.approx(1.0)
    assert summary.loc["precision@10", "mean"] == pytest.approx(1.0)
    assert summary.loc["kendall_tau", "std"] == pytest.approx(0.0)
    reversed_ = ranking_report(rset, -rset.truth[None]).summary.set_index("metric")
    assert reversed_.loc["kendall_tau", "mean"] == pytest.approx(-1.0)
    assert reversed_.loc["tau_a", "mean"] == pytest.approx(1.0)
    with pytest.raises(DataError, match="columns"):
        ranking_report(rset, np.zeros((1, 3)))


def test_rank_disorder_ranks_best_first() -> None:
    frame = rank_disorder(np.array([90.0, 95.0, 80.0]), np.array([[50.0, 40.0, 60.0], [52.0, 42.0, 58.0]]))
    assert list(frame["truth_rank"]) == [1, 2, 3]
    assert list(frame["ws_rank"]) == [3, 2, 1]
    assert list(frame["rank_change"]) == [2, 0, 2]


@pytest.fixture(scope="module")
def trained_table(tiny_splits) -> TabularBenchmark:
    """Ground truth trained for real: 6 architectures of a 2-op NB201 space, 2 seeds each, one tiny epoch."""
    torch.set_num_threads(1)
    space = get_space("nb201").restrict(["skip_connect", "nor_conv_3x3"])
    protocol = get_protocol("cpu_small").with_overrides(epochs=1, batch_size=96)
    archs = space.sample_many(6, 0)
    rows = []
    for arch in dict.fromkeys(archs):
        accs = [train_arch(space, arch, protocol=protocol, dataset=tiny_splits, seed=s, progress=False,
                           channels=4).test_acc for s in (0, 1)]
        rows.append({"ArchitectureString": str(arch), "test_acc": float(np.mean(accs)),
                     "test_acc_seed0": accs[0], "test_acc_seed1": accs[1]})
    return TabularBenchmark.from_frame(pd.DataFrame(rows), space)


def test_supernet_ranked_against_a_really_trained_table(trained_table, tiny_splits) -> None:
    space = trained_table.space
    rset = select_ranking_set(trained_table, "test_acc", space, ns=(2, 4))
    predictions = []
    for seed in (0, 1):
        run = train_supernet(SupernetConfig(mask=("none", "nor_conv_1x1", "avg_pool_3x3"), channels=4, depth=1,
                                            epochs=1, batch_size=96, flip=False), tiny_splits, seed=seed)
        predictions.append(SupernetEvaluator(run.supernet, run.splits).evaluate(rset.archs))
    report = ranking_report(rset, np.stack(predictions), seeds=[0, 1])
    assert list(report.per_seed["seed"]) == [0, 1]
    assert {"tau_a", "kendall_tau", "spearman", "pearson"} <= set(report.summary["metric"])
    ceiling = ground_truth_ceiling(trained_table, "test_acc", rset.archs)
    assert list(ceiling.columns) == ["seed_a", "seed_b", "kendall_tau"] and len(ceiling) == 1
    assert -1.0 <= ceiling["kendall_tau"].iloc[0] <= 1.0 or np.isnan(ceiling["kendall_tau"].iloc[0])


def test_ceiling_needs_per_seed_columns(nb201) -> None:
    with pytest.raises(DataError, match="per-seed"):
        ground_truth_ceiling(nb201, CIFAR10, nb201.archs()[:5])


def test_with_and_without_weight_sharing_smoke(nb201, tiny_splits) -> None:
    """Plumbing only: a supernet trained on the embedded digits ranked against NB201 CIFAR-10 numbers."""
    config = SupernetConfig(mask=("none", "nor_conv_1x1", "avg_pool_3x3"), channels=4, depth=1, epochs=1,
                            batch_size=96, flip=False)
    run = train_supernet(config, tiny_splits, seed=0)
    space = run.supernet.space
    _, scores = space_truth(nb201, CIFAR10, space)
    supernet = SupernetEvaluator(run.supernet, run.splits, max_images=32)
    truth = nb201.evaluator(CIFAR10)
    table = weight_sharing_comparison(space, {"with WS": supernet, "without WS": truth}, truth,
                                      ["random", "local"], budget=5, seeds=2, space_scores=scores)
    assert list(table["evaluator"]) == ["with WS", "with WS", "without WS", "without WS"]
    assert (table["best_rank"] >= 1).all() and (table["best_rank"] <= 64).all()
    assert table["p_gt_random_per_run"].between(0, 1).all()
