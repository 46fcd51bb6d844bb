"""The arch_sets study: specs validate, runs produce tables and figures, Wilcoxon numbers equal scipy's,
and a rerun trains only the missing (architecture, seed) jobs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import nasaudit.studies._trained_sets as trained_sets
from nasaudit.analysis.arch_sets import narrowest_deepest, widest_shallowest
from nasaudit.analysis.published import published_genotype
from nasaudit.audit.runner import Runner
from nasaudit.audit.spec import spec_from_data
from nasaudit.errors import ConfigError

TINY = {"epochs": 1, "macro": {"channels": 4, "layers": 3}}


def _run(tmp_path: Path, analyses: list[dict[str, Any]], space: str = "darts",
         evaluators: dict[str, Any] | None = None) -> Path:
    data = {"name": "t", "seed": 0, "output": str(tmp_path / "run"), "space": {"name": space},
            "evaluators": evaluators or {}, "analyses": analyses}
    Runner(spec_from_data(data, tmp_path)).run()
    return tmp_path / "run"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every training job actually run (the study passes ``train_set_job`` to the executor)."""
    calls: list[str] = []
    real = trained_sets.train_set_job

    def wrapper(job: Any) -> Any:
        calls.append(job.job_id)
        return real(job)

    monkeypatch.setattr(trained_sets, "train_set_job", wrapper)
    return calls


@pytest.mark.parametrize("study, fragment", [
    ({"sets": [{"name": "a", "generator": "shape"}]}, "bases"),
    ({"sets": [{"name": "a", "generator": "switch_off", "archs": ["x"]}]}, "exactly one of importance"),
    ({"sets": [{"name": "a", "generator": "archs", "archs": ["x"]}] * 2}, "distinct"),
    ({"sets": [{"name": "a", "generator": "archs", "archs": ["x"]}], "compare": [["a", "b"]]}, "unknown set"),
    ({"sets": [{"name": "a", "generator": "archs", "archs": ["x"]}], "protocol": "nope"}, "unknown training protocol"),
    ({"sets": [{"name": "a", "generator": "archs", "archs": ["x"]}], "seeds": [1, 1]}, "distinct non-negative"),
    ({"sets": [{"name": "a", "generator": "archs", "archs": ["x"]}], "lrs": [0.0]}, "positive"),
    ({"sets": [{"name": "a", "generator": "magic"}]}, "expected one of 'variants'"),
])
def test_bad_specs_are_refused(tmp_path: Path, study: dict[str, Any], fragment: str) -> None:
    data = {"name": "t", "output": str(tmp_path), "space": {"name": "darts"},
            "analyses": [{"kind": "arch_sets", **study}]}
    with pytest.raises(ConfigError, match=fragment):
        spec_from_data(data, tmp_path)


def _paired(runs: pd.DataFrame, group: str, reference: str) -> tuple[np.ndarray, np.ndarray]:
    base = runs[runs["group"] == reference].set_index(["pair", "seed"])["test_acc"]
    part = runs[runs["group"] == group]
    return part["test_acc"].to_numpy(), np.array([base[(p, s)] for p, s in zip(part["pair"], part["seed"], strict=True)])


def test_sets_train_compare_and_resume(tmp_path: Path, counted: list[str]) -> None:
    base = published_genotype("DARTS_V2")
    wide, deep = _adapted(base)
    # the same three cells as the shape set in another order: no new jobs, every pair differs
    study = {"kind": "arch_sets", **TINY, "seeds": [0],
             "sets": [{"name": "shape", "generator": "shape", "bases": ["DARTS_V2"]},
                      {"name": "other", "generator": "archs", "archs": [str(wide), str(deep), str(base)]}],
             "compare": [["shape", "other"]]}
    _run(tmp_path, [study])
    assert len(counted) == 3  # 3 distinct architectures x 1 seed
    # one more seed: only the 3 new jobs train; the finished ones come from the store
    counted.clear()
    out = _run(tmp_path, [{**study, "seeds": [0, 1]}])
    assert len(counted) == 3
    folder = out / "00-arch_sets"
    runs = pd.read_csv(folder / "runs.csv")
    assert len(runs) == 12 and set(runs["seed"]) == {0, 1}
    history = pd.read_csv(folder / "history.csv")
    assert history["test_acc"].notna().all() and len(history) == 12  # one epoch, test scored every epoch
    tests = pd.read_csv(folder / "tests.csv").set_index(["set", "group"])
    for group in ("widest_shallowest", "narrowest_deepest"):
        a, b = _paired(runs, group, "original")
        expected = stats.wilcoxon(a, b)
        row = tests.loc[("shape", group)]
        assert row["n_pairs"] == 2 and row["reference"] == "original"
        assert row["statistic"] == pytest.approx(expected.statistic)
        assert row["p_value"] == pytest.approx(expected.pvalue)
        assert row["mean_diff"] == pytest.approx(np.mean(a - b))

    def ordered(name: str) -> np.ndarray:  # set against set: runs paired on member order and seed
        part = runs[runs["set"] == name]
        return part.assign(k=part.groupby("seed").cumcount()).sort_values(["k", "seed"])["test_acc"].to_numpy()

    expected = stats.wilcoxon(ordered("shape"), ordered("other"))
    row = tests.loc[("shape", "(all)")]
    assert row["n_pairs"] == 6 and row["reference"] == "other"
    assert row["statistic"] == pytest.approx(expected.statistic) and row["p_value"] == pytest.approx(expected.pvalue)
    archs = pd.read_csv(folder / "archs.csv")
    assert len(archs) == 6 and (archs["seeds"] == 2).all()
    mean = runs.groupby(["set", "label"])["test_acc"].mean()
    assert archs.set_index(["set", "label"])["test_acc_mean"].sort_index().to_numpy() == pytest.approx(
        mean.sort_index().to_numpy())
    for name in ("accuracy.png", "convergence_shape.png", "convergence_other.png"):
        assert (folder / name).stat().st_size > 1000


def _adapted(base: Any) -> tuple[Any, Any]:
    out = []
    for adapt in (widest_shallowest, narrowest_deepest):
        genotype = base
        for cell in ("normal", "reduce"):
            genotype = genotype.replace(cell, adapt(base.cell(cell)))
        out.append(genotype)
    return out[0], out[1]


def test_switch_off_and_primskip_groups_on_nb201(tmp_path: Path, nb201_csv: Path) -> None:
    evaluators = {"truth": {"kind": "table", "path": str(nb201_csv), "metric": "test_acc", "dataset": "cifar10"}}
    study = {"kind": "arch_sets", "epochs": 1, "evaluator": "truth", "top": 0.005,
             "sets": [{"name": "off", "generator": "switch_off", "sample": 1, "max_disabled": 1},
                      {"name": "ps", "generator": "primskip_groups", "n_per_group": 1, "groups": ["random", "primskip"]}]}
    folder = _run(tmp_path, [study], space="nb201", evaluators=evaluators) / "00-arch_sets"
    members = pd.read_csv(folder / "members.csv")
    off = members[members["set"] == "off"].set_index("group")
    assert list(off.index) == ["original", "high/1", "low/1"]
    original = off.loc["original", "arch"]
    for group in ("high/1", "low/1"):
        changed = [a for a, b in zip(original.split("|"), off.loc[group, "arch"].split("|"), strict=True) if a != b]
        assert len(changed) == 1 and off.loc[group, "arch"].count("none") == original.count("none") + 1
    assert off.loc["high/1", "disabled_oi"] >= off.loc["low/1", "disabled_oi"]
    tests = pd.read_csv(folder / "tests.csv")
    assert set(tests["group"]) == {"high/1", "low/1", "primskip"}
    assert (tests.loc[tests["set"] == "ps", "reference"] == "random").all()
