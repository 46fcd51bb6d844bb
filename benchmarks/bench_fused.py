"""Fused training throughput: architectures trained per CPU-minute, fused (HFTA) vs one network at a time.

Mode ``builder`` (issue #14): runs the benchmark BUILDER end to end twice on a small build (``--archs``
seeded architectures x ``--seeds`` seeds of ``--dataset`` under ``cpu_small`` with ``--epochs``), with
``fuse=1`` (every run on its own, ``train_job``) and with the builder's default ``fuse`` (the seeds of one
architecture fused, ``train_jobs_fused``), each into a fresh store through the ``--executor``, and prints runs
per CPU-minute (this process and its worker processes) and per wall-minute side by side with their ratio.

Mode ``train`` (the default): for each setting and each fusion width M, trains M NB201 networks under the
``cpu_small`` protocol (shortened with ``--epochs``) twice in this process: one after another with
``nasaudit.train.train`` (the plain per-network loop every ``train_arch`` call runs) and all at once with
``train_models_fused``, and prints architectures per CPU-minute (process CPU time) and per wall-minute, side
by side, and their ratio.

Settings: ``embedded`` -- the embedded benchmark's own setting (scikit-learn digits, 8x8, 1,294 train
images); ``fmnist-like`` -- random uint8 images of shape 1x16x16 with random labels (THROUGHPUT ONLY: the
accuracies mean nothing). Fusion groups: ``seeds`` -- M seeds of one architecture (no gathers);
``mixed`` -- M different seeded random architectures (per-edge groups). Ratios are robust to other load on
the machine, absolute rates are not.

    python benchmarks/bench_fused.py --models 4 8 16 --epochs 1 [--device cuda] [--threads 1]
    python benchmarks/bench_fused.py --mode builder --archs 4 --seeds 3 --epochs 1 [--device cuda]
"""

from __future__ import annotations

import argparse
import copy
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from nasaudit.data import DatasetSplits, load_dataset
from nasaudit.data.splits import make_splits
from nasaudit.jobs.executors import make_executor
from nasaudit.jobs.job import freeze_options
from nasaudit.jobs.store import ResultStore
from nasaudit.nn import build_network
from nasaudit.spaces import get_space
from nasaudit.train import TrainProtocol, get_protocol, train
from nasaudit.train.fused import train_models_fused
from nasaudit.truth.builder import DEFAULT_FUSE, BuildSpec, build_benchmark

ONE_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def fmnist_like(seed: int = 0, train_images: int = 4096, test_images: int = 512) -> DatasetSplits:
    """Random 1x16x16 uint8 images and labels, Fashion-MNIST-like in shape only (throughput only)."""
    rng = np.random.default_rng(seed)
    train_x = rng.integers(0, 256, (train_images, 1, 16, 16), dtype=np.uint8)
    test_x = rng.integers(0, 256, (test_images, 1, 16, 16), dtype=np.uint8)
    return make_splits("fmnist-like", train_x, rng.integers(0, 10, train_images), test_x,
                       rng.integers(0, 10, test_images), 10, val_fraction=0.1, seed=seed)


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds of this process, wall seconds) of ``run()``; CUDA work is synchronised."""
    cpu, wall = time.process_time(), time.perf_counter()
    run()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.process_time() - cpu, time.perf_counter() - wall


def measure(splits: DatasetSplits, archs: list[str], protocol: TrainProtocol, device: str | None,
            macro: dict[str, int]) -> dict[str, float]:
    """Train ``archs`` (seeds 0..M-1) separately and fused; CPU and wall seconds of each."""
    space = get_space("nb201")
    models: list[nn.Module] = []
    for seed, arch in enumerate(archs):
        torch.manual_seed(seed)
        models.append(build_network(arch, space, num_classes=splits.num_classes, in_channels=splits.in_channels,
                                    **macro))
    fused_models = copy.deepcopy(models)
    seeds = list(range(len(archs)))
    sep_cpu, sep_wall = timed(lambda: [train(model, splits, protocol, seed=seed, device=device, progress=False)
                                       for model, seed in zip(models, seeds, strict=True)])
    fus_cpu, fus_wall = timed(lambda: train_models_fused(fused_models, splits, protocol, seeds=seeds, device=device,
                                                         progress=False))
    return {"sep_cpu": sep_cpu, "sep_wall": sep_wall, "fus_cpu": fus_cpu, "fus_wall": fus_wall}


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished child processes (executor workers)."""
    return sum(part.ru_utime + part.ru_stime
               for part in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))


def builder_mode(args: argparse.Namespace) -> None:
    """The builder end to end with fuse=1 and with its default fuse, side by side (module doc)."""
    runtime = {"device": args.device} if args.device != "cpu" else {}
    spec = BuildSpec(space="nb201", sample=args.archs, sample_seed=0, protocol="cpu_small", dataset=args.dataset,
                     seeds=tuple(range(args.seeds)), options=freeze_options({"epochs": args.epochs}),
                     runtime=freeze_options(runtime))
    runs = args.archs * args.seeds
    print(f"builder: {args.archs} archs x {args.seeds} seeds of {args.dataset}, cpu_small with {args.epochs} "
          f"epoch(s); executor {args.executor} ({args.workers} workers); device {args.device}")
    print(f"{'fuse':>4} {'runs':>5} {'CPU s':>8} {'wall s':>8} {'runs/CPU-min':>13} {'runs/wall-min':>14}")
    rates = {}
    warm_up = replace(spec, sample=1, sample_seed=1)  # first calls of each kernel shape, not timed
    for fuse in (1, DEFAULT_FUSE):
        with tempfile.TemporaryDirectory() as folder, ResultStore(f"{folder}/runs.db") as store:
            if args.executor == "sequential":
                with ResultStore(f"{folder}/warm-up.db") as scratch:
                    build_benchmark("warm-up", warm_up, scratch, fuse=fuse, progress=False)
            cpu, wall = cpu_seconds(), time.perf_counter()
            summary = build_benchmark("bench", spec, store, make_executor(args.executor, args.workers), fuse=fuse,
                                      progress=False)
            cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
        if not summary.complete:
            raise SystemExit(f"the fuse={fuse} build failed: {summary}")
        rates[fuse] = (60.0 * runs / cpu, 60.0 * runs / wall)
        print(f"{fuse:>4} {runs:>5} {cpu:>8.1f} {wall:>8.1f} {rates[fuse][0]:>13.1f} {rates[fuse][1]:>14.1f}",
              flush=True)
    (sep_cpu, sep_wall), (fus_cpu, fus_wall) = rates[1], rates[DEFAULT_FUSE]
    print(f"ratio fuse={DEFAULT_FUSE} / fuse=1: {fus_cpu / sep_cpu:.2f}x runs per CPU-minute, "
          f"{fus_wall / sep_wall:.2f}x runs per wall-minute")


def train_mode(args: argparse.Namespace) -> None:
    """Separate vs fused training of M networks in this process, per setting, group and M (module doc)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    protocol = get_protocol("cpu_small").with_overrides(epochs=args.epochs)
    macro = dict(protocol.macro["nb201"])
    data = {"embedded": lambda: load_dataset("embedded", val_fraction=0.1, seed=0), "fmnist-like": fmnist_like}
    print(f"cpu_small protocol, {args.epochs} epoch(s), batch {protocol.batch_size}, NB201 {macro}; device "
          f"{args.device}, torch threads {torch.get_num_threads()}")
    print(f"{'setting':12} {'group':6} {'M':>3} {'sep arch/CPU-min':>17} {'fused arch/CPU-min':>19} {'ratio':>6} "
          f"{'sep arch/wall-min':>18} {'fused arch/wall-min':>20} {'ratio':>6}")
    space = get_space("nb201")
    for setting in args.settings:
        splits = data[setting]()
        if setting == "fmnist-like":
            splits = replace(splits, name="fmnist-like (random, throughput only)")
        measure(splits, [ONE_ARCH] * 2, protocol, args.device, macro)  # first calls of the kernels, not timed
        for group in args.groups:
            for m in args.models:
                archs = [ONE_ARCH] * m if group == "seeds" else [str(a) for a in space.sample_many(m, 0)]
                row = measure(splits, archs, protocol, args.device, macro)
                rates = {key: 60.0 * m / value for key, value in row.items()}
                print(f"{setting:12} {group:6} {m:>3} {rates['sep_cpu']:>17.1f} {rates['fus_cpu']:>19.1f} "
                      f"{rates['fus_cpu'] / rates['sep_cpu']:>6.2f} {rates['sep_wall']:>18.1f} "
                      f"{rates['fus_wall']:>20.1f} {rates['fus_wall'] / rates['sep_wall']:>6.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["train", "builder"], default="train")
    parser.add_argument("--models", type=int, nargs="+", default=[4, 8, 16], help="train: fusion widths M")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the cpu_small protocol")
    parser.add_argument("--settings", nargs="+", default=["embedded", "fmnist-like"],
                        choices=["embedded", "fmnist-like"], help="train: data settings")
    parser.add_argument("--groups", nargs="+", default=["seeds", "mixed"], choices=["seeds", "mixed"],
                        help="train: what is fused")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="train: torch intra-op threads (default: torch's)")
    parser.add_argument("--archs", type=int, default=4, help="builder: seeded sample of NB201 architectures")
    parser.add_argument("--seeds", type=int, default=3, help="builder: seeds per architecture")
    parser.add_argument("--dataset", default="fashion8", help="builder: a dataset that needs no folder")
    parser.add_argument("--executor", default="sequential", choices=["sequential", "processes"],
                        help="builder: where the runs go")
    parser.add_argument("--workers", type=int, default=2, help="builder: worker processes of --executor processes")
    args = parser.parse_args()
    if args.mode == "builder":
        builder_mode(args)
    else:
        train_mode(args)


if __name__ == "__main__":
    main()
