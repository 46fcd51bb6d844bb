"""Wall time of N seeds of a weight-sharing method on 2 worker processes relative to N sequential runs
(search-phase paper Sec. 3.1: every method over many seeds), through the same jobs, store and executors as
``nasaudit compare``; also checks that both give the same final architectures and rankings.

Usage: python benchmarks/bench_ws_seeds.py [--training spos] [--seeds 4] [--epochs 2] [--workers 2]
       [--dataset embedded] [--data-root DIR] [--device cpu]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from nasaudit.jobs.executors import ProcessExecutor, SequentialExecutor, run_jobs
from nasaudit.jobs.store import ResultStore
from nasaudit.resources import embedded_benchmark_path
from nasaudit.weight_sharing.base import WS_METHODS, get_method
from nasaudit.weight_sharing.jobs import job_results, make_jobs, ws_job
from nasaudit.weight_sharing.setup import WSSetup

TRAININGS = {m.training: [n for n in WS_METHODS.names() if WS_METHODS.get(n).training == m.training]
             for m in (WS_METHODS.get(n) for n in WS_METHODS.names())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--training", default="spos", choices=sorted(TRAININGS))
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dataset", default="embedded")
    parser.add_argument("--data-root", default=None)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    table = pd.read_csv(embedded_benchmark_path())["ArchitectureString"].tolist()
    setup = WSSetup(space="nb201", mask=("none", "avg_pool_3x3"), within=tuple(table), dataset=args.dataset,
                    data_root=args.data_root, device=args.device, epochs=args.epochs,
                    rank_archs=tuple(table[:50]), rank_images=500)
    own = {"spos_evolution": {"evolution_budget": 20}, "darts_pt": {"tune_epochs": 0}}
    methods = [get_method(name, own.get(name)) for name in TRAININGS[args.training]]
    seeds = list(range(args.seeds))
    times, outcomes = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, executor in (("sequential", SequentialExecutor()), (f"{args.workers} processes",
                                                                         ProcessExecutor(args.workers))):
            store = ResultStore(Path(tmp) / f"{label}.sqlite")
            jobs = make_jobs("bench", methods, setup, seeds, Path(tmp) / label)
            started = time.perf_counter()
            summary = run_jobs(jobs, ws_job, store, executor, progress=False)
            times[label] = time.perf_counter() - started
            assert summary.complete, summary
            frame = job_results(store, jobs).sort_values("seed")
            outcomes[label] = (frame["finals"].tolist(), frame["rank_scores"].tolist())
    sequential, parallel = times.values()
    same = outcomes["sequential"] == outcomes[f"{args.workers} processes"]
    print(f"{args.training}: {args.seeds} seeds x {args.epochs} epochs on {args.dataset}")
    print(f"  sequential       {sequential:8.1f} s")
    print(f"  {args.workers} processes      {parallel:8.1f} s   speed-up x{sequential / parallel:.2f}")
    print(f"  same finals and rankings: {same}")


if __name__ == "__main__":
    main()
