"""Zero-cost proxy throughput: NB201 cells scored per CPU-second, ours vs a straightforward per-cell loop.

For each proxy, scores ``--cells`` seeded NB201 cells (untrained ``--channels``-wide networks with
``--cells-per-stage`` cells per stage, one ``--batch-size`` batch of ``--dataset``) in this process:

* ``loop``: the straightforward per-cell loop, as the reference releases run it (zero-cost-nas
  ``find_measures``, NWOT ``score_networks.py``): for each cell, build the seeded network and call
  ``score_network`` on it (which scores a private copy, as zero-cost-nas's ``get_prunable_copy`` does);
* ``batched``: ``score_archs``, one call for all cells (the jobs of one group call), without the copy;
* ``fused M``: ``score_archs(..., fuse=M)``, M networks fused into one module (HFTA, ``nn/fused.py``);
* ``stored``: the ``proxy`` evaluator's path, jobs grouped through a fresh results store (sequential).

It prints cells per CPU-second (this process's CPU time; torch limited to ``--threads``), each path's ratio
to the loop, and the CPU-hours all 15,625 NB201 cells would take per proxy and seed at that rate. The first
call of each path is not timed (fused kernels run a probe on each new input shape). Ratios are robust to other
load on the machine, absolute rates are not.

    python benchmarks/bench_proxies.py --cells 32 --fuse 16 [--proxies snip synflow] [--threads 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from nasaudit.jobs.store import ResultStore
from nasaudit.proxies import PROXIES, ProxySetting, score_archs, score_network
from nasaudit.proxies.evaluator import ProxyEvaluator
from nasaudit.proxies.scoring import proxy_batch, untrained_network
from nasaudit.spaces import get_space

NB201_CELLS = 15_625


def cpu_seconds(run: Callable[[], object]) -> float:
    """CPU seconds of this process spent in ``run()``."""
    start = time.process_time()
    run()
    return time.process_time() - start


def per_cell_loop(archs: list, setting: ProxySetting) -> None:
    """The baseline: one seeded network and one ``score_network`` call per cell."""
    space = get_space("nb201")
    batch, classes = proxy_batch(setting.dataset, setting.data_root, setting.batch_size, setting.seed)
    for arch in archs:
        score_network(setting.proxy, untrained_network(arch, space, setting, classes, batch.x.shape[1]), batch)


def measure(archs: list, setting: ProxySetting, fuse: int) -> dict[str, float]:
    """Cells per CPU-second of each path for one proxy (module doc); the first call of each is not timed."""
    space = get_space("nb201")
    per_cell_loop(archs[:2], setting)
    score_archs(archs[:fuse], space, setting, fuse=fuse)
    with tempfile.TemporaryDirectory() as folder:
        store = ResultStore(f"sqlite:///{Path(folder) / 'results.sqlite'}")
        times = {"loop": cpu_seconds(lambda: per_cell_loop(archs, setting)),
                 "batched": cpu_seconds(lambda: score_archs(archs, space, setting)),
                 "fused": cpu_seconds(lambda: score_archs(archs, space, setting, fuse=fuse)),
                 "stored": cpu_seconds(lambda: ProxyEvaluator(space, setting, store).evaluate(archs))}
    return {key: len(archs) / max(value, 1e-9) for key, value in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--proxies", nargs="+", default=PROXIES.names())
    parser.add_argument("--cells", type=int, default=32)
    parser.add_argument("--fuse", type=int, default=16)
    parser.add_argument("--dataset", default="fashion16")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=4)
    parser.add_argument("--cells-per-stage", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    archs = get_space("nb201").sample_many(args.cells, 0)
    print(f"{args.cells} NB201 cells, {args.channels} channels, {args.cells_per_stage} cell(s)/stage, batch "
          f"{args.batch_size} of {args.dataset}, {args.threads} thread(s); cells per CPU-second (ratio to loop)")
    print(f"{'proxy':10s} {'loop':>8s} {'batched':>15s} {f'fused {args.fuse}':>15s} {'stored':>15s} "
          f"{'all NB201 (CPU-h, batched)':>27s}")
    for name in args.proxies:
        setting = ProxySetting(name, args.dataset, args.batch_size, 0, args.channels, args.cells_per_stage)
        rate = measure(archs, setting, args.fuse)
        paths = "  ".join(f"{rate[key]:7.1f} ({rate[key] / rate['loop']:4.2f}x)"
                          for key in ("batched", "fused", "stored"))
        print(f"{name:10s} {rate['loop']:8.1f} {paths} {NB201_CELLS / rate['batched'] / 3600:27.2f}", flush=True)


if __name__ == "__main__":
    main()
