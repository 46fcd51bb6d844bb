"""NAS-Bench-101 record conversion throughput and peak memory (a framing/throughput test, not data).

Writes N records in the official NB101 record layout with made-up numbers (cells sampled from the NB101
space, 4 budgets x 3 repeats each like ``nasbench_full.tfrecord``) to a temporary TFRecord file, then
measures, each stage in a fresh process so its peak RSS is its own:

* ``framing``: plain iteration over the framed records (CRC32C-verified, payloads not parsed): the baseline;
* ``parse``: framing plus decoding each payload (JSON, base64, ModelMetrics protobuf);
* ``convert-parquet`` / ``convert-csv``: the whole ``convert_nb101`` (hash check, table written).

Prints records/s, the ratio to the baseline, peak RSS, and the projected time for the full file.

    python benchmarks/bench_nb101_convert.py --records 60000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nasaudit.spaces.nb101 import NB101Space, nb101_hash
from nasaudit.truth.nb101_records import (
    EvaluationData,
    ModelMetrics,
    NB101Record,
    convert_nb101,
    iter_nb101_records,
)
from nasaudit.truth.tfrecord import TFRecordWriter, iter_records

BUDGETS = (4, 12, 36, 108)
REPEATS = 3
FULL_FILE_RECORDS = 423_624 * len(BUDGETS) * REPEATS


def write_synthetic(path: Path, n_records: int, seed: int = 0) -> None:
    """``n_records`` records in the official layout; numbers are random, only the format is real."""
    rng = np.random.default_rng(seed)
    per_cell = len(BUDGETS) * REPEATS
    cells = NB101Space().sample_many(-(-n_records // per_cell), rng)
    written = 0
    with TFRecordWriter(path) as writer:
        for arch in cells:
            module_hash = nb101_hash(arch)
            for epochs in BUDGETS:
                for _ in range(REPEATS):
                    if written == n_records:
                        return
                    values = rng.uniform(0, 1, size=12)
                    evals = tuple(EvaluationData(epochs * f, *values[4 * k:4 * k + 4])
                                  for k, f in enumerate((0.0, 0.5, 1.0)))
                    metrics = ModelMetrics(evals, int(rng.integers(100_000, 40_000_000)), float(rng.uniform(1, 9)))
                    writer.write(NB101Record(module_hash, epochs, arch.matrix, arch.ops, metrics).encode())
                    written += 1


def stage(name: str, source: Path, folder: Path) -> dict[str, float]:
    """Run one measured stage in this process; returns records, seconds and peak RSS (MiB)."""
    started = time.perf_counter()
    if name == "framing":
        count = sum(1 for _ in iter_records(source))
    elif name == "parse":
        count = sum(1 for _ in iter_nb101_records(source))
    else:
        count = convert_nb101(source, folder / f"table.{name.split('-')[1]}").records
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"records": count, "seconds": seconds, "peak_mib": peak_mib}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=60_000, help="records to generate")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(stage(args.stage, Path(args.source), Path(args.source).parent)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "synthetic.tfrecord"
        started = time.perf_counter()
        write_synthetic(source, args.records)
        print(f"generated {args.records:,} synthetic-layout records ({source.stat().st_size / 2**20:.1f} MiB) "
              f"in {time.perf_counter() - started:.1f} s  [framing/throughput test, not data]")
        print(f"{'stage':>16} {'records/s':>10} {'x baseline':>10} {'peak RSS MiB':>13} {'full file (5.08M) min':>22}")
        baseline = None
        for name in ("framing", "parse", "convert-parquet", "convert-csv"):
            out = subprocess.run([sys.executable, __file__, "--stage", name, "--source", str(source)],
                                 check=True, capture_output=True, text=True).stdout
            row = json.loads(out)
            rate = row["records"] / row["seconds"]
            baseline = baseline or rate
            print(f"{name:>16} {rate:>10,.0f} {rate / baseline:>10.2f} {row['peak_mib']:>13.0f} "
                  f"{FULL_FILE_RECORDS / rate / 60:>22.1f}", flush=True)


if __name__ == "__main__":
    main()
