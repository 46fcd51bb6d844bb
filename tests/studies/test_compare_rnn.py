"""compare in the RNN spaces and in spaces too large to enumerate: what the spec check and the reduced space of
the truth's architectures need (issues #25, #26)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from nasaudit.resources import darts_benchmark_path
from nasaudit.spaces import get_space
from nasaudit.spaces.subset import classes_space
from nasaudit.studies._ws_compare import WeightSharingSettings, check_methods


def test_rnn_methods_take_a_text_corpus_and_refuse_images(tmp_path: Path) -> None:
    space = get_space("rnn_reduced")
    ok = check_methods(["darts_rnn", "enas_rnn"], space, WeightSharingSettings(dataset="jargon"), True, tmp_path)
    assert ok == []
    images = check_methods(["darts_rnn"], space, WeightSharingSettings(dataset="fashion8"), True, tmp_path)
    assert len(images) == 1 and "text corpus" in images[0] and "jargon" in images[0]
    ptb = check_methods(["enas_rnn"], space, WeightSharingSettings(dataset="ptb"), True, tmp_path)
    assert len(ptb) == 1 and "data_root" in ptb[0]


def test_image_methods_refuse_a_text_corpus(tmp_path: Path) -> None:
    problems = check_methods(["enas"], get_space("nb201"), WeightSharingSettings(dataset="jargon"), False, tmp_path)
    assert len(problems) == 1 and "image dataset" in problems[0]


def test_the_reduced_darts_space_of_a_table_is_its_cells_without_enumerating_the_space() -> None:
    cells = pd.read_csv(darts_benchmark_path())["ArchitectureString"].tolist()
    space = classes_space(get_space("darts"), cells + cells[:5])  # repeats are one class each
    assert space.size == len(cells) == len(set(cells))
    assert all(space.contains(space.base.coerce(c)) for c in cells[:10])


def test_the_default_image_dataset_is_refused_for_rnn_with_what_to_set(tmp_path: Path) -> None:
    [problem] = check_methods(["darts_rnn"], get_space("rnn_reduced"), WeightSharingSettings(), True, tmp_path)
    assert "'embedded' is an image dataset" in problem and "weight_sharing.dataset: jargon" in problem


#: one tiny language model per cell (8 units, 1 epoch, a few hundred tokens of jargon), one seed: a real table
TINY_LM = {"epochs": 1, "emsize": 8, "nhid": 8, "bptt": 10, "batch_size": 16, "text_prefix": [400, 100, 100]}
ENAS = {"archs_per_epoch": 2, "batches_per_arch": 2, "controller_steps": 1, "controller_batch": 2,
        "derive_samples": 2, "controller_hidden": 8}
SPEC = f"""
output: run
space: {{name: rnn_reduced}}
evaluators:
  truth: {{kind: table, path: rnn.csv, metric: test_score}}
analyses:
  - kind: compare
    evaluator: truth
    strategies: [random, darts_rnn, enas_rnn]
    budget: 2
    seeds: 1
    within_truth: true
    weight_sharing: {{dataset: jargon, epochs: 1, channels: 8, batch_size: 8, train_tokens: 200, rank_set: 4,
                     rank_images: 40, best_of: [2], methods: {{enas_rnn: {ENAS}}}}}
"""


def test_darts_rnn_and_enas_rnn_run_in_compare_within_a_tiny_rnn_truth(tmp_path: Path) -> None:
    from nasaudit.audit.runner import run_spec
    from nasaudit.audit.spec import load_spec
    from nasaudit.jobs.store import ResultStore
    from nasaudit.truth.builder import BuildSpec, build_benchmark, export_benchmark

    space = get_space("rnn_reduced")
    cells = tuple(space.format(a) for a in list(space.enumerate())[:6])
    build = BuildSpec(space="rnn_reduced", protocol="lm_cpu_small", dataset="jargon", seeds=(0,), options=TINY_LM,
                      archs=cells)
    with ResultStore(tmp_path / "build.db") as store:
        build_benchmark("rnn", build, store, progress=False)
        export_benchmark("rnn", store, tmp_path / "rnn.csv", metric="test_score")
    (tmp_path / "spec.yaml").write_text(SPEC)
    run_spec(load_spec(tmp_path / "spec.yaml"))
    folder = tmp_path / "run" / "00-compare"
    summary = pd.read_csv(folder / "summary.csv")
    assert summary["strategy"].tolist() == ["random", "darts_rnn", "enas_rnn"]
    assert summary["weight_sharing"].tolist() == [False, True, True]
    assert summary["mean"].lt(0).all()  # -(mean NLL per token)
    assert "equal_cost_queries" not in summary  # an LM table records no flops: no equal-cost columns
    finals = pd.read_csv(folder / "finals.csv")
    assert finals["strategy"].tolist() == ["random", "darts_rnn", "enas_rnn"] and finals["truth"].notna().all()
    ranking = pd.read_csv(folder / "ws_ranking.csv")
    assert ranking["method"].tolist() == ["darts_rnn", "enas_rnn"] and ranking["tau_mean"].between(-1, 1).all()
    assert "truth_seed_to_seed_tau" not in ranking  # a one-seed table has no ceiling (and no traceback)
    best = pd.read_csv(folder / "best_of_n.csv")
    assert best["strategy"].tolist() == ["random", "darts_rnn", "enas_rnn"] and best["n"].eq(2).all()
