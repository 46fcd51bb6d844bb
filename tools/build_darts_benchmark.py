"""Build and export the shipped DARTS-space training benchmark on Fashion-MNIST (``darts_fashion.csv``), resumably.

Usage:
  python tools/build_darts_benchmark.py build  --store runs/darts.db --epochs 4
  python tools/build_darts_benchmark.py export --store runs/darts.db --epochs 4

The build trains DARTS genotypes from scratch with seeds 0-2 (``cpu_small``, ``--epochs`` epochs, batch 128, the
DARTS macro network at 8 channels and 3 cells: normal, reduce, reduce) on ``fashion8`` on 2 worker processes, one
run per job (DARTS networks do not fuse), scoring the test split after every epoch so that one build measures the
whole tau-against-CPU-hours curve. Its architectures (redundancy paper Sec. 3-4): a uniform sample of the space,
samples of the Skip-only, Prim-only and PrimSkip groups (Fig. 10), the published cells the space holds and their
minimal PrimSkip edits (Table 2a). A killed build resumes. The export writes the table and its sidecar (settings,
seed-to-seed tau, the curve) into the package.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from nasaudit.analysis.primskip import minimal_primskip_edit
from nasaudit.analysis.published import published_genotype, published_names
from nasaudit.errors import NasauditError
from nasaudit.jobs.executors import ProcessExecutor
from nasaudit.jobs.job import freeze_options
from nasaudit.jobs.store import ResultStore
from nasaudit.resources import DARTS_BENCHMARK
from nasaudit.seeding import as_generator
from nasaudit.spaces import get_space
from nasaudit.spaces.constraints import PrimSkip
from nasaudit.truth.builder import BuildSpec, build_benchmark, select_architectures
from nasaudit.truth.shipped import export_training_benchmark, per_epoch_tau

OUT = Path(__file__).resolve().parents[1] / "src" / "nasaudit" / "resources" / DARTS_BENCHMARK
#: uniform sample of the space, and per constrained group (redundancy paper Fig. 10)
UNIFORM, PER_GROUP = 120, 12
GROUPS = ("skip", "prim", "primskip")
MACRO = {"channels": 8, "layers": 3, "auxiliary": False}

SETTINGS: dict[str, Any] = {
    "dataset": "fashion8: the shipped stratified Fashion-MNIST subset (500 train + 500 test images per class, "
               "seed 0), zero-padded to 32 px and 4x4 average-pooled to 8 px; 10% of the training images held "
               "out for validation by each run's seed",
    "space": (f"DARTS (normal and reduce cells); {UNIFORM} genotypes sampled uniformly (sample_seed 0), "
              f"{PER_GROUP} of each of the Skip-only, Prim-only and PrimSkip groups (redundancy paper Fig. 10, "
              "seed 1), the published genotypes the space holds and their minimal PrimSkip edits (Table 2a)"),
    "protocol": ("cpu_small (SGD Nesterov 0.9, LR 0.1 cosine to 0 per step, weight decay 5e-4, random crop) with "
                 "batch_size=128 and the epochs of the build; DARTS macro network with 8 channels and 3 cells "
                 "(normal, reduce, reduce), no auxiliary head, no drop path"),
    "seeds": [0, 1, 2],
    "tau_vs_cpu_hours_note": ("one build scores the test split after every epoch; tau_vs_cpu_hours is the "
                              "seed-to-seed tau of the test accuracy after each epoch of that one cosine schedule, "
                              "against the CPU-hours spent up to it (job seconds, one torch thread per worker, so "
                              "the wall time of one core). An epoch before the last is not annealed, so the curve "
                              "is a lower bound on what a shorter schedule of its own would give."),
}


def build_name(epochs: int) -> str:
    return f"darts-fashion8-{UNIFORM}u-3seeds-{epochs}ep"


def benchmark_archs() -> tuple[str, ...]:
    """The named genotypes of the build, after its uniform sample: constrained groups, published, edited."""
    space = get_space("darts")
    rng = as_generator(1)
    archs = [str(arch) for group in GROUPS for arch in PrimSkip(space, group).sample_many(PER_GROUP, rng)]
    for name in published_names():
        genotype = published_genotype(name)
        try:
            space.validate(genotype)
        except NasauditError:
            continue  # an op outside the DARTS space (e.g. AmoebaNet's 7x7 convolutions)
        archs += [str(genotype), str(minimal_primskip_edit(genotype).edited)]
    return tuple(dict.fromkeys(archs))


def benchmark_groups(spec: BuildSpec) -> dict[str, list[str]]:
    """The build's architectures as the table writes them: the uniform sample apart from the named cells."""
    space = spec.make_space()
    archs = [space.format(arch) for arch in select_architectures(spec)]
    sampled = spec.sample or 0
    return {"uniform sample": archs[:sampled], "named (Skip/Prim/PrimSkip groups, published, edited)": archs[sampled:]}


def build_spec(epochs: int) -> BuildSpec:
    return BuildSpec(space="darts", sample=UNIFORM, sample_seed=0, archs=benchmark_archs(), protocol="cpu_small",
                     dataset="fashion8", seeds=(0, 1, 2),
                     options=freeze_options({"epochs": epochs, "batch_size": 128, "test_each_epoch": True, **MACRO}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("step", choices=["build", "export"])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    name = build_name(args.epochs)
    with ResultStore(args.store) as store:
        if args.step == "build":
            print(build_benchmark(name, build_spec(args.epochs), store, ProcessExecutor(args.workers), fuse=1,
                                  progress=True,
                                  command=f"python tools/build_darts_benchmark.py build --store {args.store} "
                                          f"--epochs {args.epochs}"))
            return
        settings = {**SETTINGS, "tau_vs_cpu_hours": per_epoch_tau(name, store)}
        table = export_training_benchmark(name, store, OUT, probes=[], settings=settings,
                                          groups=benchmark_groups(build_spec(args.epochs)))
    meta = json.loads(OUT.with_name(OUT.name + ".meta.json").read_text())
    print(len(table), meta["seed_to_seed_tau"], meta["total_train_hours"])


if __name__ == "__main__":
    main()
