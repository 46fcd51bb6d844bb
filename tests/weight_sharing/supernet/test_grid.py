from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from nasaudit.errors import ConfigError
from nasaudit.jobs.store import ResultStore
from nasaudit.spaces import get_space
from nasaudit.truth import TabularBenchmark
from nasaudit.weight_sharing.supernet.grid import GridSpec, grid_reports, grid_summary, run_grid

SPECS = Path(__file__).resolve().parents[3] / "src" / "nasaudit" / "weight_sharing" / "supernet" / "specs"
MASK = ["none", "nor_conv_1x1", "avg_pool_3x3"]


@pytest.fixture
def small_table(nb201_csv, tmp_path):
    """The 64 architectures of NB201 restricted to skip + 3x3 conv, with their real CIFAR-10 accuracy."""
    table = TabularBenchmark.from_file(nb201_csv)
    space = get_space("nb201").restrict(["skip_connect", "nor_conv_3x3"])
    keep = [space.contains(a) for a in table.archs()]
    path = tmp_path / "small.csv"
    table.table[keep].to_csv(path, index=False)
    return path


def _spec(tmp_path, benchmark, **changes) -> GridSpec:
    data = {"experiment": "tiny-grid", "benchmark": str(benchmark), "metric": "CIFAR10TestAccuracy200Epochs",
            "seeds": [0, 1], "n_random": 64, "max_val_images": 32, "device": "cpu",
            "base": {"channels": 4, "depth": 1, "epochs": 1, "batch_size": 256, "flip": False},
            "masks": [MASK], "variants": {"baseline": {}, "uniform": {"sampling": "uniform"}}, **changes}
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(data))
    return GridSpec.from_yaml(path)


def test_grid_runs_through_the_store_and_resumes(small_table, tmp_path) -> None:
    spec = _spec(tmp_path, small_table)
    assert len(spec.jobs()) == 4
    with ResultStore(tmp_path / "grid.db") as store:
        summary = run_grid(spec, store, progress=False)
        assert summary.done == 4 and not summary.failed
        again = run_grid(spec, store, progress=False)
        assert again.skipped == 4 and again.done == 0
        reports = grid_reports(store, "tiny-grid")
    assert set(reports) == {"baseline|mask=avg_pool_3x3+none+nor_conv_1x1", "uniform|mask=avg_pool_3x3+none+nor_conv_1x1"}
    report = reports["baseline|mask=avg_pool_3x3+none+nor_conv_1x1"]
    assert list(report.per_seed["seed"]) == [0, 1]
    assert report.curve["n"].tolist() == [10, 25, 50, 64]
    table = grid_summary(reports)
    assert set(table["variant"]) == {"baseline", "uniform"}
    assert table.loc[table["variant"] == "baseline", "welch_p_vs_baseline"].isna().all()
    assert (table["seeds"] <= 2).all()


def test_same_spec_same_predictions(small_table, tmp_path) -> None:
    spec = _spec(tmp_path, small_table, seeds=[0], variants={"baseline": {}})
    stores = []
    for name in ("a.db", "b.db"):
        with ResultStore(tmp_path / name) as store:
            run_grid(spec, store, progress=False)
            stores.append(store.experiment_results("tiny-grid")["metrics"].iloc[0]["predicted"])
    assert np.array_equal(stores[0], stores[1])


def test_spec_errors(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"experiment": "x", "benchmark": "t.csv", "metric": "m", "colour": 1}))
    with pytest.raises(ConfigError, match="colour"):
        GridSpec.from_yaml(path)
    path.write_text(yaml.safe_dump({"experiment": "x", "benchmark": "t.csv", "metric": "m",
                                    "variants": {"v": {"sampling": "greedy"}}}))
    with pytest.raises(ConfigError, match="sampling"):
        GridSpec.from_yaml(path)
    with pytest.raises(ConfigError, match="not found"):
        GridSpec.from_yaml(tmp_path / "missing.yaml")


def test_shipped_specs_are_valid() -> None:
    paper = GridSpec.from_yaml(SPECS / "cifar10_paper.yaml", data_root="/data")
    assert paper.dataset == "cifar10" and paper.data_root == "/data" and len(paper.seeds) == 5
    assert len(paper.jobs()) == 13 * 9 * 5
    embedded = GridSpec.from_yaml(SPECS / "embedded_grid.yaml")
    assert embedded.dataset == "embedded" and len(embedded.jobs()) == 4 * 7 * 3
