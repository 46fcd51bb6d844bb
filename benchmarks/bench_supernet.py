"""Speed and memory of supernet training and of batched supernet evaluation.

Usage: python benchmarks/bench_supernet.py [--size S] [--channels 8] [--depth 1] [--epochs 1] [--archs 1000]
       [--dataset embedded] [--data-root DIR] [--device cpu] [--threads N]

Prints training throughput (optimiser steps, trained paths and images per second), evaluation throughput
(architectures per second) of one batched ``evaluate`` call, the same architectures evaluated one call
each with a fresh evaluator (the per-evaluation overhead the batching avoids), and peak memory (process
RSS on CPU; ``torch.cuda.max_memory_allocated`` on CUDA).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import torch

from nasaudit.weight_sharing.supernet import PathSampler, SupernetConfig, SupernetEvaluator, train_supernet


def _peak_memory_mb(device: str) -> float:
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="S")
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--sampling", default="fair")
    parser.add_argument("--archs", type=int, default=1000)
    parser.add_argument("--single-calls", type=int, default=50, help="archs evaluated one call each")
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = SupernetConfig(size=args.size, channels=args.channels, depth=args.depth, epochs=args.epochs,
                            batch_size=args.batch_size, sampling=args.sampling,
                            flip=False if args.dataset == "embedded" else None)
    run = train_supernet(config, args.dataset, seed=0, data_root=args.data_root, device=args.device)
    steps_per_epoch = -(-len(run.splits.train) // config.make_protocol().batch_size)
    paths_per_step = PathSampler(run.supernet, config.sampling).paths_per_step
    seconds = run.wall_time_s
    print(f"device {run.device}, torch threads {torch.get_num_threads()}, supernet {config.macro()}, "
          f"{sum(p.numel() for p in run.supernet.parameters()):,} parameters")
    print(f"train: {args.epochs} epoch(s) of {len(run.splits.train):,} images in {seconds:.2f} s: "
          f"{args.epochs * steps_per_epoch / seconds:.2f} steps/s, "
          f"{args.epochs * steps_per_epoch * paths_per_step / seconds:.2f} paths/s, "
          f"{args.epochs * len(run.splits.train) * paths_per_step / seconds:,.0f} images/s; "
          f"peak memory {_peak_memory_mb(run.device):.0f} MB")

    space = run.supernet.space
    archs = space.sample_many(min(args.archs, space.size), 1)
    started = time.perf_counter()
    evaluator = SupernetEvaluator(run.supernet, run.splits)
    scores = evaluator.evaluate(archs)
    batched = time.perf_counter() - started
    print(f"evaluate (batched): {len(archs):,} archs x {evaluator.n_images} val images in {batched:.2f} s = "
          f"{len(archs) / batched:.1f} archs/s; peak memory {_peak_memory_mb(run.device):.0f} MB; "
          f"mean accuracy {scores.mean():.2f}%")
    single = archs[:args.single_calls]
    started = time.perf_counter()
    for arch in single:
        SupernetEvaluator(run.supernet, run.splits).evaluate([arch])
    separate = time.perf_counter() - started
    print(f"evaluate (one call + fresh evaluator per arch): {len(single)} archs in {separate:.2f} s = "
          f"{len(single) / separate:.1f} archs/s; batched is {(len(archs) / batched) / (len(single) / separate):.1f}x "
          "faster per architecture")


if __name__ == "__main__":
    main()
