"""Benchmark-builder throughput: architectures trained per minute with 1 and 2 local worker processes.

Trains the same seeded sample of a restricted NB201 space (one seed each, the ``cpu_small`` protocol on the
embedded dataset, shortened with ``--epochs``) into a fresh SQLite store per worker count, and prints
two rates: over the whole wall time (worker start-up and first-run imports included) and in steady state
(from the first finished run to the last).

    python benchmarks/bench_builder.py --archs 12 --epochs 1 --channels 8
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from nasaudit.jobs.executors import ProcessExecutor
from nasaudit.jobs.store import ResultStore
from nasaudit.truth.builder import BuildSpec, build_benchmark

OPS = ("skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def measure(workers: int, spec: BuildSpec, folder: Path) -> dict[str, float]:
    """Build ``spec`` with ``workers`` processes into a new store; return timings and rates."""
    with ResultStore(folder / f"workers{workers}.db") as store:
        started = time.perf_counter()
        summary = build_benchmark(f"bench{workers}", spec, store, ProcessExecutor(workers), progress=False,
                                  command="benchmarks/bench_builder.py")
        wall = time.perf_counter() - started
        finished = store.runs(status="done")["finished_at"].sort_values()
    if not summary.complete:
        raise SystemExit(f"build with {workers} workers failed:\n{summary}")
    steady_s = (finished.iloc[-1] - finished.iloc[0]).total_seconds()
    return {"workers": workers, "archs": summary.done, "wall_s": wall,
            "per_min_wall": 60.0 * summary.done / wall,
            "per_min_steady": 60.0 * (summary.done - 1) / steady_s if steady_s > 0 else float("nan")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=12, help="architectures to train per worker count")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the cpu_small protocol")
    parser.add_argument("--channels", type=int, default=8, help="NB201 macro-network channels")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    args = parser.parse_args()
    spec = BuildSpec(ops=OPS, sample=args.archs, sample_seed=0, seeds=(0,),
                     options={"epochs": args.epochs, "channels": args.channels})
    print(f"{args.archs} NB201 archs ({len(OPS)} ops), cpu_small protocol, {args.epochs} epoch(s), "
          f"{args.channels} channels, embedded dataset, 1 seed")
    print(f"{'workers':>7} {'archs':>5} {'wall s':>8} {'archs/min (wall)':>17} {'archs/min (steady)':>19}")
    with tempfile.TemporaryDirectory() as tmp:
        for workers in args.workers:
            row = measure(workers, spec, Path(tmp))
            print(f"{row['workers']:>7} {row['archs']:>5} {row['wall_s']:>8.1f} {row['per_min_wall']:>17.1f} "
                  f"{row['per_min_steady']:>19.1f}", flush=True)


if __name__ == "__main__":
    main()
