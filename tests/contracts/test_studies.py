"""Every registered study kind passes the shipped ``StudyContract`` on its smallest spec that runs in seconds."""

from __future__ import annotations

from typing import Any

import pytest

from nasaudit.studies import study_kinds
from nasaudit.testing import StudyContract
from nasaudit.testing.studies import NB201_3OPS, TRUTH

from ..truth.conftest import write_nb301_folder

#: a tiny macro network and training (arch_sets, dynamics: DARTS cells)
TRAINING = {"epochs": 1, "macro": {"channels": 4, "layers": 3}, "seeds": [0],
            "sets": [{"name": "shape", "generator": "shape", "bases": ["DARTS_V2"]}]}
DARTS: dict[str, Any] = {"space": {"name": "darts"}, "evaluators": {}}

#: kind -> (its tiny spec, its tiny audit or None for the default: NB201 on three ops, the embedded table as truth)
TINY: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {
    "amount_of_sharing": ({"truth": "fresh", "seeds": 1, "weight_sharing": {
        "dataset": "jargon", "epochs": 1, "channels": 8, "batch_size": 8, "train_tokens": 200, "rank_images": 40,
        "methods": {"spos_rnn": {"derive_samples": 2}}}}, {"space": {"name": "rnn_3node"}, "evaluators": {"fresh": {
            "kind": "train", "protocol": "lm_cpu_small", "dataset": "jargon", "seeds": [0, 1], "metric": "test_score",
            "options": {"epochs": 1, "emsize": 8, "nhid": 8, "bptt": 10, "batch_size": 16,
                        "text_prefix": [400, 100, 100]}}}}),
    "arch_sets": ({**TRAINING}, DARTS),
    "bench_build": ({"name": "contract", "sample": 3, "seeds": [0], "options": {"epochs": 1, "channels": 2,
                                                                               "cells_per_stage": 1}}, None),
    "cell_drawing": ({"archs": ["|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|"
                                "nor_conv_1x1~2|"], "evaluator": "truth"}, None),
    "cell_map": ({"evaluator": "truth", "samples": 30, "perplexity": 5}, None),
    "cell_shape": ({}, None),
    "compare": ({"evaluator": "truth", "strategies": ["random", "local"], "budget": 10, "seeds": 2}, None),
    "differentiable": ({"search_seeds": 1, "epochs": 1, "tune_epochs": 0, "selections": ["alpha"], "channels": 4,
                        "val_fraction": 0.2, "batch_size": 128},
                       None),
    "dynamics": ({**TRAINING, "eval_images": 32, "grid": 3, "grid_1d": 3, "variance_grid": 1, "variance_batch": 8,
                  "hessian_iters": 3}, DARTS),
    "fidelity": ({"low": ["truth"], "final": "truth", "top_ns": [5]}, None),
    "importance": ({"evaluator": "truth"}, None),
    "nb301_surrogate": ({"evaluator": "nb301"}, {"space": {"name": "darts"}, "evaluators": {"nb301": {
        "kind": "nb301_surrogate", "path": "nb301", "model": "gbt", "n_estimators": 20}}}),
    "op_usage": ({"evaluator": "truth"}, None),
    "pareto": ({"evaluator": "truth", "strategies": ["random", "local"], "budget": 10, "seeds": 2}, None),
    "predictors": ({"evaluator": "truth", "predictors": ["gbt", "rf"], "train_sizes": [10], "seeds": [0],
                    "test": 20, "k": 3}, None),
    "primskip": ({"evaluator": "truth", "samples": 5}, None),
    "primskip_edit": ({}, None),
    "primskip_search": ({"evaluator": "truth", "budget": 5, "seeds": 2}, None),
    "proxies": ({"evaluator": "truth", "proxies": ["synflow", "params"], "seeds": [0], "archs": 6,
                 "proxy_dataset": "embedded", "batch_size": 8, "k": 3}, None),
    "reduced_spaces": ({"evaluator": "nb101", "vertices": [4], "strategies": ["random"], "budget": 5, "seeds": 2},
                       {"space": {"name": "nb101"}, "evaluators": {"nb101": {"kind": "nb101", "path": "nb101.csv"}}}),
    "subgraphs": ({"evaluator": "truth"}, None),
    "supernet_grid": ({"grid": "grid.yaml"}, None),
    "supernet_ranking": ({"supernet": "supernet", "truth": "truth", "seeds": 1, "n_random": 20},
                         {"space": NB201_3OPS, "evaluators": {"truth": TRUTH, "supernet": {
                             "kind": "supernet", "dataset": "embedded", "size": "tiny", "epochs": 1}}}),
    "surrogate": ({"evaluator": "truth", "samples": 40, "test": 40}, None),
}

#: supernet_grid's grid file: one variant, one seed, one epoch of a 4-channel supernet
GRID = """
experiment: contract-grid
benchmark: embedded
metric: test_acc
dataset: embedded
seeds: [0]
n_random: 20
base: {space: nb201, size: S, channels: 4, depth: 1, protocol: singlepath, epochs: 1, batch_size: 256, flip: false}
masks: [[none, avg_pool_3x3]]
variants: {baseline: {}}
"""


class TestRegisteredStudies(StudyContract):
    @pytest.fixture(params=study_kinds())
    def study_kind(self, request: Any) -> str:
        if request.param not in TINY:
            raise AssertionError(f"study kind {request.param!r} has no tiny spec in tests/contracts/test_studies.py")
        return str(request.param)

    @pytest.fixture
    def tiny_spec(self, study_kind: str) -> dict[str, Any]:
        return {"kind": study_kind, **TINY[study_kind][0]}

    @pytest.fixture
    def tiny_audit(self, study_kind: str) -> dict[str, Any]:
        return TINY[study_kind][1] or {"space": NB201_3OPS, "evaluators": {"truth": TRUTH}}

    @pytest.fixture
    def tiny_files(self, study_kind: str, nb101_csv: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
        files = {"grid.yaml": GRID, "nb101.csv": nb101_csv}
        if study_kind == "nb301_surrogate":  # a synthetic folder in NB301's results layout (tests/truth/conftest.py)
            folder = write_nb301_folder(tmp_path_factory.mktemp("nb301"), n=40)
            files.update({f"nb301/{path.relative_to(folder).as_posix()}": path.read_text()
                          for path in sorted(folder.rglob("*.json"))})
        return files
