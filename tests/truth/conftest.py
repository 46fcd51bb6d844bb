"""A small folder in the exact NAS-Bench-301 training-data layout (``<optimizer>/results_<n>.json``).

SYNTHETIC TEST FIXTURE: the genotypes are seeded DARTS samples and the accuracies come from a made-up rule
(separable convolutions help, pooling hurts, plus seeded noise) in NB301's plausible 90-95 % range. They test
reading and plumbing, not findings about the DARTS space.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from nasaudit.spaces.darts import DartsGenotype, DartsSpace
from nasaudit.truth.surrogate import genotype_to_nb301_config


def result_json(config: dict[str, str], val: float, test: float) -> dict[str, object]:
    """A result file as the release writes it (other hyper-parameters and curves abridged)."""
    hyper = {"CreateImageDataLoader:batch_size": 96, "NetworkSelectorDatasetInfo:darts:layers": 8, **config}
    return {"optimized_hyperparamater_config": hyper, "budget": 100, "runtime": 3600.5, "test_accuracy": test,
            "info": [{"val_accuracy": val, "val_accuracy_final": val, "train_accuracy_final": 99.1,
                      "model_parameters": 1_234_567}],
            "learning_curves": {"Train/val_accuracy": [val - 5, val]}}


def synthetic_accuracy(genotype: DartsGenotype) -> float:
    """The fixture's made-up validation accuracy (%) of a genotype, before noise."""
    ops = [op for cell in (genotype.normal, genotype.reduce) for op, _ in cell.edges]
    normal = [op for op, _ in genotype.normal.edges]
    return (92.0 + 0.35 * sum(op.startswith("sep_conv") for op in normal)
            + 0.15 * sum(op.startswith("dil_conv") for op in ops) - 0.3 * sum("pool" in op for op in normal))


def write_nb301_folder(root: Path, n: int = 60, seed: int = 0) -> Path:
    """``n`` seeded genotypes spread over two optimizer sub-folders, synthetic accuracies, in NB301's layout."""
    rng = np.random.default_rng(seed)
    for index, genotype in enumerate(DartsSpace().sample_many(n, seed)):
        folder = root / ("rs" if index % 3 else "re")
        folder.mkdir(parents=True, exist_ok=True)
        val = float(np.clip(synthetic_accuracy(genotype) + rng.normal(0, 0.1), 88.0, 96.0))
        (folder / f"results_{index}.json").write_text(json.dumps(result_json(genotype_to_nb301_config(genotype),
                                                                             val, val - 0.4)))
    return root


@pytest.fixture
def nb301_folder(tmp_path: Path) -> Path:
    """Sixty synthetic results in NB301's layout (see the module docstring)."""
    return write_nb301_folder(tmp_path / "nb_301_v13_lc_iclr_final")


@pytest.fixture
def nb301_writer() -> Callable[..., Path]:
    """``write_nb301_folder`` for tests that need another size or seed."""
    return write_nb301_folder
