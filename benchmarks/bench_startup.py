"""Start-up time of ``nasaudit --help`` next to ``import torch`` and a bare interpreter, in fresh processes.

Usage: python benchmarks/bench_startup.py [--repeats N]
Prints the median wall time of each command and the ratio of ``nasaudit --help`` to ``import torch``
(round 1: 4.3 s, 2.6x ``import torch``; goal: under 0.5 s).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import torch": [sys.executable, "-c", "import torch"],
    "nasaudit --help": [sys.executable, "-m", "nasaudit.cli.main", "--help"],
    "nasaudit analyze --help": [sys.executable, "-m", "nasaudit.cli.main", "analyze", "--help"],
}


def median_seconds(command: list[str], repeats: int) -> float:
    """Median wall time of ``repeats`` fresh runs of ``command``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results = {name: median_seconds(command, args.repeats) for name, command in COMMANDS.items()}
    for name, seconds in results.items():
        print(f"{name:>24}: {seconds:6.3f} s")
    print(f"nasaudit --help / import torch: {results['nasaudit --help'] / results['import torch']:.2f}x")


if __name__ == "__main__":
    main()
