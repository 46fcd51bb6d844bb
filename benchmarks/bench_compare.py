"""Time the fair comparison: 100 queries x 100+ seeds x 4 strategies on the real NB201 table.

Usage: python benchmarks/bench_compare.py [path/to/nats_tss_test_acc_200ep.csv] [--seeds N]
Prints seconds per strategy and in total, then the ground-truth summary table.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from nasaudit.metrics import expected_best_of_n
from nasaudit.search import Comparison, get_strategy, run_comparison, summarise
from nasaudit.truth import TabularBenchmark

DEFAULT_TABLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201" / "nats_tss_test_acc_200ep.csv"
METRIC = "CIFAR10TestAccuracy200Epochs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("table", nargs="?", type=Path, default=DEFAULT_TABLE)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", type=int, default=100)
    args = parser.parse_args()

    started = time.perf_counter()
    bench = TabularBenchmark.from_file(args.table)
    print(f"load table: {time.perf_counter() - started:.2f} s ({len(bench):,} architectures)")
    evaluator = bench.evaluator(METRIC)
    runs = {}
    total = 0.0
    for name in ("random", "evolution", "local", "bananas"):
        started = time.perf_counter()
        one = run_comparison(bench.space, evaluator, [get_strategy(name)], args.budget, args.seeds)
        elapsed = time.perf_counter() - started
        total += elapsed
        runs.update(one.runs)
        print(f"{name:>10}: {elapsed:6.2f} s for {args.seeds} seeds x {args.budget} queries")
    print(f"{'all four':>10}: {total:6.2f} s")
    comparison = Comparison(args.budget, one.seeds, runs)
    summary = summarise(comparison, evaluator, bench.scores(METRIC))
    print(f"expected best of {args.budget} uniform draws: "
          f"{expected_best_of_n(bench.scores(METRIC), args.budget, replace=False):.3f}")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
