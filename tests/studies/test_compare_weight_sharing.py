"""The fair comparison with weight-sharing methods beside query-based strategies (search-phase paper Sec. 3.1,
4.2-4.3): one joint table, the rank-disorder figures, the with/without-WS rows, and a rerun after a failure
trains only the seeds that had not finished."""

from __future__ import annotations

import pandas as pd
import pytest

from nasaudit.audit.runner import run_spec
from nasaudit.audit.spec import load_spec
from nasaudit.errors import ConfigError, TrainingError
from nasaudit.weight_sharing import training

SPEC = """
output: run
space: {name: nb201, ops: [skip_connect, nor_conv_1x1, nor_conv_3x3]}
evaluators:
  truth: {kind: table, path: embedded, metric: test_acc}
analyses:
  - kind: compare
    evaluator: truth
    strategies: [random, evolution, reinforce, spos_evolution, enas, gdas]
    budget: 5
    seeds: 2
    within_truth: true
    weight_sharing: {epochs: 1, rank_set: 10, rank_images: 100,
                     methods: {spos_evolution: {evolution_budget: 5},
                               enas: {controller_steps: 1, controller_batch: 2, derive_samples: 4}}}
"""


def test_joint_table_figures_and_rerun_of_failed_seeds(tmp_path, monkeypatch) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    real = training.run_training
    calls: list[tuple[str, int]] = []

    def failing_seed_1(name: str, methods: list[object], setup: object, seed: int, work_dir: object = None) -> object:
        calls.append((name, seed))
        if seed == 1 and name == "enas":
            raise RuntimeError("killed")
        return real(name, methods, setup, seed, work_dir)  # type: ignore[arg-type]

    monkeypatch.setattr(training, "run_training", failing_seed_1)
    with pytest.raises(TrainingError, match="1 weight-sharing seed"):
        run_spec(load_spec(tmp_path / "spec.yaml"))
    first = set(calls)
    assert ("enas", 1) in first and len(first) == 6
    calls.clear()
    monkeypatch.setattr(training, "run_training", lambda *a, **k: (calls.append((a[0], a[3])), real(*a, **k))[1])
    run_spec(load_spec(tmp_path / "spec.yaml"))
    assert calls == [("enas", 1)]  # only the seed that had not finished trains again
    folder = tmp_path / "run" / "00-compare"
    summary = pd.read_csv(folder / "summary.csv")
    assert summary["strategy"].tolist() == ["random", "evolution", "reinforce", "spos_evolution", "enas", "gdas"]
    assert summary["weight_sharing"].tolist() == [False] * 3 + [True] * 3
    assert (summary["seeds"] == 2).all() and summary["cost"].str.contains("supernet epochs").sum() == 3
    # one supernet size for every method, stated in each method's cost
    assert summary["cost"].str.contains(r"1 supernet epochs \(8 channels, 1 cell\(s\) per stage, batch 64\)").sum() == 3
    assert summary["mean"].between(50, 100).all()
    assert summary["equal_cost_queries"].isna().tolist() == [True] * 3 + [False] * 3  # the embedded table records its recipe and flops
    assert (summary["equal_cost_queries"].dropna() >= 1).all()
    assert summary["p_gt_random_at_equal_cost"].dropna().between(0, 1).all()
    # App. D.2: the best of as many random cells as each method's cost trains, in the truth's range
    best_of = summary["random_best_of_equal_cost"]
    assert best_of.isna().tolist() == [True] * 3 + [False] * 3 and best_of.dropna().between(50, 100).all()
    ranking = pd.read_csv(folder / "ws_ranking.csv")
    assert set(ranking["method"]) == {"spos", "enas", "gdas"} and ranking["tau_mean"].between(-1, 1).all()
    assert ranking["truth_seed_to_seed_tau"].nunique() == 1  # the embedded table's ceiling beside every method
    paired = pd.read_csv(folder / "with_without_ws.csv")
    assert paired["policy"].tolist() == ["evolution", "reinforce"]
    assert (folder / "rank_disorder.png").is_file() and (folder / "rank_over_epochs.png").is_file()
    finals = pd.read_csv(folder / "finals.csv")
    assert len(finals) == 12 and finals["truth"].notna().all()


def test_methods_a_space_cannot_run_are_refused_before_compute(tmp_path) -> None:
    (tmp_path / "spec.yaml").write_text("space: {name: nb101}\nevaluators:\n  t: {kind: table, path: embedded, "
                                        "metric: test_acc}\nanalyses:\n  - {kind: compare, evaluator: t, "
                                        "strategies: [random, enas, darts_pt]}\n")
    with pytest.raises(ConfigError, match="darts_pt is defined on"):
        load_spec(tmp_path / "spec.yaml")


@pytest.mark.parametrize(("methods", "message"), [
    ("{spos_evolution: {evolution_budget: 0}}",
     r"weight_sharing\.methods\.spos_evolution\.evolution_budget: Input should be greater than or equal to 1"),
    ("{enas: {controller_step: 3}}", r"weight_sharing\.methods\.enas\.controller_step: unknown setting of enas"),
    ("{gdas: {}}", r"weight_sharing\.methods\.gdas: 'gdas' is not a requested weight-sharing method"),
])
def test_a_methods_own_settings_are_checked_with_the_spec_in_one_line(tmp_path, methods: str, message: str) -> None:
    (tmp_path / "spec.yaml").write_text("space: {name: nb201}\nevaluators:\n  t: {kind: table, path: embedded, "
                                        "metric: test_acc}\nanalyses:\n  - {kind: compare, evaluator: t, "
                                        "strategies: [random, spos_evolution, enas], "
                                        f"weight_sharing: {{methods: {methods}}}}}\n")
    with pytest.raises(ConfigError, match=message) as refused:
        load_spec(tmp_path / "spec.yaml")
    assert sum("weight_sharing.methods" in line for line in str(refused.value).splitlines()) == 1
