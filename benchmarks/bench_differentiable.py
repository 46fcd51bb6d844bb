"""Cost of differentiable search and of perturbation-based selection, relative to SPOS.

Usage: python benchmarks/bench_differentiable.py [--space nb201] [--channels 4] [--depth 1] [--epochs 2]
       [--batch-size 64] [--tune-epochs 1] [--dataset embedded] [--data-root DIR] [--device cpu] [--threads N]

Runs, each in a fresh process, one search of DARTS first order, DARTS second order and GDAS, and one SPOS
supernet training (uniform single-path sampling, ``nasaudit.weight_sharing.supernet.training``), all on the same space,
width, depth, data and batch size, and PT selection on the DARTS run. Prints seconds per epoch (the last
epoch's, so start-up is not counted; a search epoch includes its end-of-epoch validation pass) and peak
memory (``torch.cuda.max_memory_allocated`` on CUDA; on CPU the growth of the process's peak RSS over
the RSS after loading the data), both as ratios to SPOS, and PT's cost in DARTS search epochs.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch

from nasaudit.data.loading import load_dataset
from nasaudit.weight_sharing.differentiable.config import SearchConfig
from nasaudit.weight_sharing.differentiable.search import search
from nasaudit.weight_sharing.differentiable.selection import select
from nasaudit.weight_sharing.supernet.training import SupernetConfig, train_supernet

METHODS = ("spos", "darts", "darts2", "gdas", "pt")


def _rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _one(args: argparse.Namespace) -> dict[str, float]:
    """Run ``args.one`` in this process; seconds per epoch and peak memory (MB)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = load_dataset(args.dataset, args.data_root, val_fraction=0.5, seed=0)  # DARTS: half for alpha
    flip = args.dataset != "embedded"
    cuda = args.device.startswith("cuda")
    baseline = _rss_mb()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    out: dict[str, float] = {}
    if args.one == "spos":
        config = SupernetConfig(space=args.space, channels=args.channels, depth=args.depth, epochs=args.epochs,
                                batch_size=args.batch_size, sampling="uniform", flip=flip)
        out["seconds"] = train_supernet(config, splits, seed=0, device=args.device).history[-1].seconds
    else:
        algorithm = "darts" if args.one == "pt" else args.one
        config_s = SearchConfig(algorithm=algorithm, space=args.space, channels=args.channels, depth=args.depth,
                                epochs=args.epochs, batch_size=args.batch_size, flip=flip)
        run = search(config_s, splits, seed=0, device=args.device)
        out["seconds"] = run.history[-1].seconds
        if args.one == "pt":
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            started = time.perf_counter()
            selection = select(run, "pt", seed=0, tune_epochs=args.tune_epochs, device=args.device)
            out["pt_seconds"] = time.perf_counter() - started
            out["rounds"] = len(selection.trajectory) - 1
    out["peak_mb"] = torch.cuda.max_memory_allocated() / 2**20 if cuda else _rss_mb() - baseline
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--tune-epochs", type=int, default=1)
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--one", choices=METHODS, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(_one(args)))
        return
    results = {}
    for method in METHODS:
        command = [sys.executable, __file__, *sys.argv[1:], "--one", method]
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        results[method] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"device {args.device}, space {args.space}, channels {args.channels}, depth {args.depth}, batch "
          f"{args.batch_size}, dataset {args.dataset} (half of the training images for alpha)")
    memory = "peak CUDA MB" if args.device.startswith("cuda") else "peak RSS +MB"
    print(f"{'method':10s} {'s/epoch':>9s} {'x SPOS':>8s} {memory:>13s} {'x SPOS':>8s}")
    base = results["spos"]
    for method in METHODS[:-1]:
        r = results[method]
        print(f"{method:10s} {r['seconds']:9.3f} {r['seconds'] / base['seconds']:8.2f} {r['peak_mb']:13.1f} "
              f"{r['peak_mb'] / max(base['peak_mb'], 1e-9):8.2f}")
    darts, pt = results["darts"], results["pt"]
    print(f"second / first order: {results['darts2']['seconds'] / darts['seconds']:.2f}x time")
    print(f"PT selection ({args.tune_epochs} tuning epoch(s) between decisions, {int(pt['rounds'])} rounds): "
          f"{pt['pt_seconds']:.2f} s = {pt['pt_seconds'] / pt['seconds']:.1f} DARTS search epochs")


if __name__ == "__main__":
    main()
