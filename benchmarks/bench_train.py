"""Training throughput baseline: images/s, architectures per CPU-minute, peak memory.

Trains seeded random architectures of NB201, DARTS and NB101 under a protocol (default ``cpu_small``)
on the embedded digits and prints, per space: mean wall time per architecture, architectures per
minute, training images per second (train images x epochs / time), test accuracy, and peak memory
(process peak RSS on CPU; peak allocated CUDA memory on a GPU).

Usage: python benchmarks/bench_train.py [--archs 3] [--epochs N] [--protocol cpu_small] [--device cpu]
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from nasaudit.data import load_dataset
from nasaudit.spaces import get_space
from nasaudit.spaces.nb101 import NB101Space
from nasaudit.train import get_protocol, train_arch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=3, help="architectures per space")
    parser.add_argument("--epochs", type=int, default=None, help="override the protocol's epochs")
    parser.add_argument("--protocol", default="cpu_small")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    protocol = get_protocol(args.protocol)
    if args.epochs:
        protocol = protocol.with_overrides(epochs=args.epochs)
    splits = load_dataset("embedded", val_fraction=0.1, seed=0)
    print(f"protocol {protocol.name}, {protocol.epochs} epochs, batch {protocol.batch_size}; dataset "
          f"{splits.name}: {len(splits.train)} train images {splits.image_size}x{splits.image_size}; "
          f"torch threads {torch.get_num_threads()}")
    print(f"{'space':8} {'s/arch':>8} {'arch/min':>9} {'img/s':>9} {'test acc':>9} {'params':>9} {'peak MB':>9}")
    for space in (get_space("nb201"), get_space("darts"), NB101Space()):
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        seconds, train_seconds, accs, params = 0.0, 0.0, [], []
        for arch in space.sample_many(args.archs, 0):
            started = time.perf_counter()
            result = train_arch(space, arch, protocol=protocol, dataset=splits, seed=0, device=args.device,
                                progress=False)
            seconds += time.perf_counter() - started
            train_seconds += sum(r.seconds for r in result.history)
            accs.append(result.test_acc)
            params.append(result.params)
        images = len(splits.train) * protocol.epochs * args.archs
        peak = (torch.cuda.max_memory_allocated() if torch.cuda.is_available()
                else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**20
        print(f"{space.name:8} {seconds / args.archs:8.2f} {60 * args.archs / seconds:9.1f} "
              f"{images / train_seconds:9.0f} {sum(accs) / len(accs):9.2f} {sum(params) // len(params):9,d} "
              f"{peak:9.0f}")


if __name__ == "__main__":
    main()
