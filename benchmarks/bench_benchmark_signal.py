"""Signal of a training benchmark: seed-to-seed Kendall tau against CPU-seconds per training run.

Trains a seeded sample of NB201 equivalence classes (the full five-op space, ``none`` and ``avg_pool_3x3``
included) with 3 seeds on a stratified Fashion-MNIST subset, and prints one JSON line per run of the
script: the mean over seed pairs of Kendall tau between the seeds' test accuracies, over the whole sample
and over its top 10% by seed-mean (search-phase paper Sec. 4.2), and the CPU seconds of one training run.
This is how the recipe of the shipped ``nb201_fashion.csv`` was chosen (its .meta.json holds the probes).

    python benchmarks/bench_benchmark_signal.py --px 16 --train-per-class 300 --epochs 4 --batch-size 128 \
        --data-root /usr/share/datasets/fashion-mnist --out probes.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from nasaudit.data.fashion import fashion_subset, read_fashion, read_fashion_embedded, shrink
from nasaudit.data.splits import make_splits
from nasaudit.spaces import get_space
from nasaudit.train import get_protocol, train_arch
from nasaudit.truth.builder import BuildSpec, select_architectures
from nasaudit.truth.shipped import seed_to_seed_tau


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--px", type=int, default=16, help="image size (28 = Fashion-MNIST's own)")
    parser.add_argument("--train-per-class", type=int, default=300, help="training images per class")
    parser.add_argument("--test-per-class", type=int, default=200, help="test images per class")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=None, help="initial LR (default: the protocol's)")
    parser.add_argument("--protocol", default="cpu_small")
    parser.add_argument("--channels", type=int, default=None, help="NB201 macro channels (default: protocol's)")
    parser.add_argument("--cells", type=int, default=None, help="NB201 cells per stage (default: protocol's)")
    parser.add_argument("--archs", type=int, default=30, help="NB201 equivalence classes sampled (seed 0)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data-root", type=Path, default=None,
                        help="official Fashion-MNIST idx files (default: the shipped subset)")
    parser.add_argument("--out", type=Path, default=None, help="append the JSON line to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    raw = read_fashion(args.data_root) if args.data_root else read_fashion_embedded()
    data, _, _ = fashion_subset(raw, args.train_per_class, args.test_per_class, 0)
    data = shrink(data, args.px) if args.px != data.train_x.shape[-1] else data
    space = get_space("nb201")
    archs = select_architectures(BuildSpec(space="nb201", unique=True, sample=args.archs, sample_seed=0))
    changes: dict[str, float | int] = {"epochs": args.epochs, "batch_size": args.batch_size}
    if args.lr is not None:
        changes["lr"] = args.lr
    protocol = get_protocol(args.protocol).with_overrides(**changes)
    macro = {k: v for k, v in (("channels", args.channels), ("cells_per_stage", args.cells)) if v is not None}
    accuracy = np.zeros((len(archs), args.seeds))
    cpu: list[float] = []
    for seed in range(args.seeds):
        splits = make_splits("fashion", *data[:4], data.num_classes, val_fraction=0.1, seed=seed)
        for row, arch in enumerate(archs):
            started = time.process_time()
            result = train_arch(space, arch, protocol=protocol, dataset=splits, seed=seed, progress=False, **macro)
            cpu.append(time.process_time() - started)
            accuracy[row, seed] = result.test_acc
    line = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"},
            "tau": seed_to_seed_tau(accuracy), "tau_top10": seed_to_seed_tau(accuracy, 0.1),
            "cpu_s_per_run": float(np.mean(cpu)), "mean_acc": float(accuracy.mean()),
            "max_acc": float(accuracy.max()), "mean_seed_std": float(accuracy.std(axis=1, ddof=1).mean())}
    text = json.dumps(line)
    print(text, flush=True)
    if args.out:
        with args.out.open("a") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
