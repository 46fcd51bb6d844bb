"""Fused training throughput: architectures trained per CPU-minute, fused (HFTA) vs one network at a time.

For each setting and each fusion width M, trains M NB201 networks under the ``cpu_small`` protocol
(shortened with ``--epochs``) twice in this process: one after another with ``nasaudit.train.train`` (the
plain per-network loop every ``train_arch`` call runs) and all at once with ``train_models_fused``, and
prints architectures per CPU-minute (process CPU time) and per wall-minute, side by side, and their ratio.

Settings: ``embedded`` -- the embedded benchmark's own setting (scikit-learn digits, 8x8, 1,294 train
images); ``fmnist-like`` -- random uint8 images of shape 1x16x16 with random labels (THROUGHPUT ONLY: the
accuracies mean nothing). Fusion groups: ``seeds`` -- M seeds of one architecture (no gathers);
``mixed`` -- M different seeded random architectures (per-edge groups). Ratios are robust to other load on
the machine, absolute rates are not.

    python benchmarks/bench_fused.py --models 4 8 16 --epochs 1 [--device cuda] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from nasaudit.data import DatasetSplits, load_dataset
from nasaudit.data.splits import make_splits
from nasaudit.nn import build_network
from nasaudit.spaces import get_space
from nasaudit.train import TrainProtocol, get_protocol, train
from nasaudit.train.fused import train_models_fused

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=int, nargs="+", default=[4, 8, 16], help="fusion widths M")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the cpu_small protocol")
    parser.add_argument("--settings", nargs="+", default=["embedded", "fmnist-like"],
                        choices=["embedded", "fmnist-like"])
    parser.add_argument("--groups", nargs="+", default=["seeds", "mixed"], choices=["seeds", "mixed"])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
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
        for group in args.groups:
            for m in args.models:
                archs = [ONE_ARCH] * m if group == "seeds" else [str(a) for a in space.sample_many(m, 0)]
                row = measure(splits, archs, protocol, args.device, macro)
                rates = {key: 60.0 * m / value for key, value in row.items()}
                print(f"{setting:12} {group:6} {m:>3} {rates['sep_cpu']:>17.1f} {rates['fus_cpu']:>19.1f} "
                      f"{rates['fus_cpu'] / rates['sep_cpu']:>6.2f} {rates['sep_wall']:>18.1f} "
                      f"{rates['fus_wall']:>20.1f} {rates['fus_wall'] / rates['sep_wall']:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
