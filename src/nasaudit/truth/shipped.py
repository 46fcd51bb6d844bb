"""How the shipped data resources are made from their public sources (run once by the maintainers, e.g. through
``tools/build_fashion_benchmark.py``).

``write_nb201_table`` compresses the published NAS-Bench-201 test accuracies (search-phase paper Sec. 3.1
uses such a table as ground truth); ``write_fashion_subset`` vendors a stratified Fashion-MNIST subset,
the real data of the embedded training benchmark (search-phase paper Sec. 3.2), which
``export_training_benchmark`` exports from a builder store. Each writes a ``.meta.json`` sidecar with the
source (or build), the licence notice or seed agreement, and the sha256 of the written file.
"""

from __future__ import annotations

import io
import itertools
import json
import lzma
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasaudit._atomic import atomic_open, atomic_write
from nasaudit.data.fashion import FASHION_FILES, fashion_subset, read_fashion
from nasaudit.errors import DataError
from nasaudit.jobs.provenance import file_sha256, git_commit, package_version
from nasaudit.jobs.store import ResultStore
from nasaudit.metrics.correlation import kendall_tau
from nasaudit.resources import FASHION_SUBSET, fashion_subset_path
from nasaudit.spaces.registry import get_space
from nasaudit.truth.builder import export_benchmark, metadata_path, read_metadata
from nasaudit.truth.tabular import ARCH_COLUMN

NB201_COLUMNS = ("ArchitectureString", "CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs",
                 "ImageNetTestAccuracy200Epochs")
NATS_BENCH_LICENCE = """MIT License

Copyright (c) since 2020 Xuanyi Dong (GitHub: https://github.com/D-X-Y)

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
FASHION_LICENCE = """The MIT License (MIT) Copyright © [2017] Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


def _write_meta(path: Path, meta: dict[str, Any]) -> None:
    meta = {**meta, "file": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size,
            "package_version": package_version(), "git_commit": git_commit()}
    atomic_write(path.with_name(path.name + ".meta.json"), json.dumps(meta, indent=2) + "\n")


def write_nb201_table(source: Path, out: Path) -> pd.DataFrame:
    """Compress the NB201 CSV (``ArchitectureString`` and the three 200-epoch test accuracies, in source
    order) to xz; the dropped ``UniqueString`` must equal ``space.canonical`` and every value must
    read back bit-identical, else ``DataError``."""
    frame = pd.read_csv(source)
    missing = [c for c in (*NB201_COLUMNS, "UniqueString") if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}")
    space = get_space("nb201")
    keys = [space.canonical(space.parse(text)) for text in frame["ArchitectureString"]]
    if keys != frame["UniqueString"].tolist():
        raise DataError(f"{source}: its UniqueString column differs from nasaudit's NB201 canonical key")
    table = frame[list(NB201_COLUMNS)]
    text = table.to_csv(index=False)
    back = pd.read_csv(io.StringIO(text))
    for column in NB201_COLUMNS[1:]:
        if not np.array_equal(back[column].to_numpy(), table[column].to_numpy()):
            raise DataError(f"column {column} does not round-trip exactly through CSV text")
    atomic_write(out, lzma.compress(text.encode(), preset=9 | lzma.PRESET_EXTREME))
    _write_meta(out, {
        "name": "nb201-test-acc-200ep",
        "description": ("NAS-Bench-201 / NATS-Bench topology search space: all 15,625 architectures, test "
                        "accuracy (%) after the 200-epoch protocol, mean over the benchmark's seeds, on "
                        "CIFAR-10, CIFAR-100 and ImageNet16-120"),
        "source": ("official NATS-Bench API (Dong et al., 2021; https://github.com/D-X-Y/NATS-Bench), extracted "
                   "to nats_bench.csv by the public repository v-tao/nats-bench-landscape at commit b307ae5"),
        "source_file": source.name,
        "source_sha256": file_sha256(source),
        "transformation": ("kept ArchitectureString and the three test-accuracy columns in source order, values "
                           "written in Python's shortest round-trip float form (bit-identical on reading); "
                           "dropped UniqueString, which equals nasaudit's NB201 canonical key for every row "
                           "(6,466 classes); xz compression"),
        "rows": len(table),
        "columns": list(NB201_COLUMNS),
        "classes": len(set(keys)),
        "licence": "MIT (NATS-Bench)",
        "licence_notice": NATS_BENCH_LICENCE,
    })
    return table


#: the one validation column shipped beside the test table: CIFAR-10 (the ``cifar10-valid`` split's ``x-valid``)
NB201_VALID_COLUMNS = ("ArchitectureString", "CIFAR10ValidAccuracy200Epochs")
#: what the public pandas pickle of NB201 accuracies may reference; anything else is refused before it runs
_NB201_PICKLE_GLOBALS = frozenset({
    ("pandas.core.frame", "DataFrame"), ("pandas.core.internals.managers", "BlockManager"),
    ("pandas.core.indexes.base", "_new_Index"), ("pandas.core.indexes.base", "Index"),
    ("pandas.core.indexes.range", "RangeIndex"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("builtins", "slice")})


def _read_pandas_pickle(source: Path) -> pd.DataFrame:
    """A pandas DataFrame pickle, unpickled with only the constructors of ``_NB201_PICKLE_GLOBALS`` allowed."""
    import importlib
    import pickle

    class _Restricted(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) not in _NB201_PICKLE_GLOBALS:
                raise DataError(f"{source}: the pickle references {module}.{name}, which is not allowed")
            if module.startswith("numpy.core") and int(np.__version__.split(".")[0]) >= 2:
                module = module.replace("numpy.core", "numpy._core")
            return getattr(importlib.import_module(module), name)

    with source.open("rb") as handle:
        frame = _Restricted(handle).load()
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame, got {type(frame).__name__}")
    return frame


def write_nb201_valid_table(source: Path, test_table: Path, out: Path) -> pd.DataFrame:
    """Compress the CIFAR-10 validation accuracy (``cifar10-valid`` split, ``x-valid``, 200 epochs, mean over
    the release's seeds) of all 15,625 NB201 cells from the public DataFrame ``arch_score_acc.pd``
    (columns ``arch``, ``cellstr``, ``valid_top1``) to xz, rows in the order of the shipped test table, whose
    architecture strings it must repeat exactly; values must read back bit-identical, else ``DataError``."""
    frame = _read_pandas_pickle(source)
    missing = [c for c in ("arch", "cellstr", "valid_top1", "test_top1") if c not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {missing}")
    test = pd.read_csv(test_table)
    if frame["cellstr"].tolist() != test["ArchitectureString"].tolist():
        raise DataError(f"{source}: its architectures are not those of {test_table.name}, in its order")
    if frame["arch"].tolist() != list(range(len(frame))):
        raise DataError(f"{source}: column arch is not the benchmark index 0..{len(frame) - 1}")
    table = pd.DataFrame({NB201_VALID_COLUMNS[0]: frame["cellstr"],
                          NB201_VALID_COLUMNS[1]: frame["valid_top1"].to_numpy(dtype=np.float64)})
    text = table.to_csv(index=False)
    back = pd.read_csv(io.StringIO(text))
    if not np.array_equal(back[NB201_VALID_COLUMNS[1]].to_numpy(), table[NB201_VALID_COLUMNS[1]].to_numpy()):
        raise DataError(f"column {NB201_VALID_COLUMNS[1]} does not round-trip exactly through CSV text")
    atomic_write(out, lzma.compress(text.encode(), preset=9 | lzma.PRESET_EXTREME))
    same_test = int(np.sum(frame["test_top1"].to_numpy() == test["CIFAR10TestAccuracy200Epochs"].to_numpy()))
    _write_meta(out, {
        "name": "nb201-valid-acc-200ep",
        "description": ("NAS-Bench-201 topology search space: all 15,625 architectures, CIFAR-10 validation "
                        "accuracy (%) after the 200-epoch protocol (trained on the 25k training half of "
                        "CIFAR-10's training set, the 'cifar10-valid' split, scored on its 25k 'x-valid' half), "
                        "mean over the release's seeds"),
        "source": ("official NAS-Bench-201 API (Dong & Yang, 2020; file NAS-Bench-201-v1_1-096897.pth), the "
                   "'cifar10-valid' split's 'x-valid' accuracy at epoch 200, mean over seeds, extracted (the "
                   "extraction script is not published) to the pandas DataFrame results/arch_score_acc.pd "
                   "(column valid_top1) by the public repository "
                   "BayesWatch/nas-without-training at commit a1aa24c257741db0a049e4f126be67ffb1adc2dc (MIT)"),
        "source_file": source.name,
        "source_sha256": file_sha256(source),
        "transformation": ("unpickled with only pandas/numpy constructors allowed; kept cellstr (as "
                           "ArchitectureString) and valid_top1 in source order, which is the benchmark index "
                           "and the order of nb201_test_acc_200ep.csv.xz; values written in Python's shortest "
                           "round-trip float form (bit-identical on reading); xz compression"),
        "checks": ("bit-identical to independent extracts of the official API published in code: index 0 "
                   "81.98266665690103 and index 1 90.76933332438152 (yuny220/NAR-Former, hp='200', "
                   "is_random=False), the optimum 91.60666665039064 at index 6111 (NAS-Bench-201 paper's "
                   "optimal CIFAR-10 validation accuracy 91.61)"),
        "release_note": ("the test table comes from the NATS-Bench topology file, which extends this NB201 "
                         "v1.1 release with more seeds for some architectures: the source's own CIFAR-10 test "
                         f"column equals the shipped test table on {same_test} of {len(frame)} rows, so on the "
                         "others this validation mean is over fewer seeds than the test mean"),
        "rows": len(table),
        "columns": list(NB201_VALID_COLUMNS),
        "not_shipped": ("CIFAR-100 and ImageNet16-120 validation accuracies: no public extract of them was found "
                        "to ship"),
        "licence": "MIT (NAS-Bench-201 / NATS-Bench; extract: MIT, BayesWatch)",
        "licence_notice": NATS_BENCH_LICENCE,
        "extract_licence_notice": "MIT License, Copyright (c) 2020 BayesWatch (same terms as above)",
    })
    return table


def write_fashion_subset(root: Path, out: Path, *, train_per_class: int, test_per_class: int,
                         seed: int) -> dict[str, np.ndarray]:
    """Vendor a stratified, seeded Fashion-MNIST subset as a compressed npz of uint8 28x28 images, with
    the indices taken from the official train and test files recorded in the sidecar."""
    raw = read_fashion(root)
    subset, train_idx, test_idx = fashion_subset(raw, train_per_class, test_per_class, seed)
    arrays = {"train_x": subset.train_x, "train_y": subset.train_y.astype(np.uint8),
              "test_x": subset.test_x, "test_y": subset.test_y.astype(np.uint8)}
    with atomic_open(out, "wb") as handle:
        np.savez_compressed(handle, train_x=arrays["train_x"], train_y=arrays["train_y"],
                            test_x=arrays["test_x"], test_y=arrays["test_y"])
    sources = {}
    for name in FASHION_FILES.values():
        found = next(p for p in (root / name, root / f"{name}.gz") if p.is_file())
        sources[found.name] = file_sha256(found)
    _write_meta(out, {
        "name": "fashion-mnist-subset",
        "description": ("stratified seeded subset of Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): uint8 1x28x28 "
                        f"images, {train_per_class} per class from the official training file and "
                        f"{test_per_class} per class from the official test file"),
        "source": ("Debian package dataset-fashion-mnist 0.0~git20200523.55506a9-1 (upstream "
                   "https://github.com/zalandoresearch/fashion-mnist), /usr/share/datasets/fashion-mnist"),
        "source_sha256": sources,
        "selection": {"function": "nasaudit.data.fashion.fashion_subset", "train_per_class": train_per_class,
                      "test_per_class": test_per_class, "seed": seed},
        "train_indices": train_idx.tolist(),
        "test_indices": test_idx.tolist(),
        "licence": "MIT (Fashion-MNIST)",
        "licence_notice": FASHION_LICENCE,
    })
    return arrays


def seed_to_seed_tau(per_seed: np.ndarray, top_fraction: float = 1.0) -> float:
    """Mean over seed pairs of Kendall tau-b between the seeds' scores (search-phase paper Sec. 4.2), over the
    architectures whose seed-mean is in the best ``top_fraction`` (at least 3 of them); ``per_seed`` is
    (architectures, seeds)."""
    scores = np.asarray(per_seed, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise DataError(f"seed-to-seed tau needs an (architectures, seeds >= 2) array, got {scores.shape}")
    n = max(3, round(top_fraction * scores.shape[0]))
    top = np.argsort(-scores.mean(axis=1), kind="stable")[:n]
    taus = [kendall_tau(scores[top, a], scores[top, b])
            for a, b in itertools.combinations(range(scores.shape[1]), 2)]
    return float(np.mean(taus))


def per_epoch_tau(name: str, store: ResultStore) -> list[dict[str, Any]]:
    """Seed-to-seed tau (whole table, top 10%) of build ``name``'s test accuracy after each epoch (its runs scored
    the test split every epoch: option ``test_each_epoch``), against the CPU-hours spent up to that epoch (each
    run's job seconds shared out by its epochs' measured seconds). One schedule's curve: earlier epochs are not
    annealed, so it bounds from below what a shorter schedule of its own would reach."""
    from nasaudit.truth.builder import BuildSpec, build_jobs

    spec = BuildSpec.from_dict(store.load_build(name)["spec"])
    jobs = build_jobs(spec)
    runs = store.runs(space=spec.space, protocol=spec.protocol, dataset=spec.dataset, status="done",
                      job_ids=[job.job_id for job in jobs], include_curves=True)
    if runs.empty or any("test_acc" not in curves for curves in runs["curves"]):
        raise DataError(f"build {name!r} has runs without per-epoch test accuracy; build it with the option "
                        "test_each_epoch=true")
    test = np.array([curves["test_acc"] for curves in runs["curves"]], dtype=np.float64)
    seconds = np.array([curves["seconds"] for curves in runs["curves"]], dtype=np.float64)
    spent = runs["duration_s"].to_numpy(dtype=np.float64)[:, None] * np.cumsum(seconds, axis=1) \
        / seconds.sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"arch": runs["arch"].to_numpy(), "seed": runs["seed"].to_numpy()})
    points = []
    for epoch in range(test.shape[1]):
        wide = frame.assign(acc=test[:, epoch]).pivot(index="arch", columns="seed", values="acc").dropna()
        points.append({"epochs": epoch + 1, "tau": seed_to_seed_tau(wide.to_numpy()),
                       "tau_top10": seed_to_seed_tau(wide.to_numpy(), 0.1),
                       "cpu_hours": float(spent[:, epoch].sum() / 3600.0)})
    return points


def export_training_benchmark(name: str, store: ResultStore, out: Path, *, probes: list[dict[str, Any]],
                              settings: dict[str, Any], partial: bool = False,
                              groups: Mapping[str, Collection[str]] | None = None) -> pd.DataFrame:
    """Export build ``name`` with ``export_benchmark`` (search-phase paper Sec. 3.2 ground truth) and add to its
    sidecar the seed-to-seed tau over the whole table, its top 10% and each of ``groups`` (name: architecture
    strings as the table writes them), the probes that chose the recipe (tau against CPU-seconds per run), the
    build ``settings``, the sha256 of the table and of its dataset."""
    table = export_benchmark(name, store, out, partial=partial)
    meta = read_metadata(out)
    per_seed = table[[f"test_acc_seed{seed}" for seed in meta["seeds"]]].to_numpy(dtype=np.float64)
    by_group = {}
    for group, archs in (groups or {}).items():
        rows = table[ARCH_COLUMN].isin(set(archs)).to_numpy()
        by_group[group] = {"architectures": int(rows.sum()), "tau": seed_to_seed_tau(per_seed[rows])}
    dataset = meta["spec"]["dataset"]
    meta.update({
        "seed_to_seed_tau": {
            "metric": "test_acc", "whole": seed_to_seed_tau(per_seed), "top10": seed_to_seed_tau(per_seed, 0.1),
            **({"by_group": by_group} if by_group else {}),
            "definition": ("mean over seed pairs of Kendall tau-b between the seeds' test accuracies, over all "
                           "architectures and over the best 10% by seed-mean (nasaudit.truth.shipped."
                           "seed_to_seed_tau)"),
        },
        "settings": settings,
        "probes": probes,
        "dataset_resource": ({"file": FASHION_SUBSET, "sha256": file_sha256(fashion_subset_path())}
                             if dataset.startswith("fashion") else None),
        "sha256": file_sha256(out),
        "bytes": out.stat().st_size,
    })
    atomic_write(metadata_path(out), json.dumps(meta, indent=2) + "\n")
    return table
