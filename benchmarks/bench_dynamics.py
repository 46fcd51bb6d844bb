"""Cost of the training-dynamics grids relative to one training epoch (architectures paper Sec. 4.2).

For a tiny DARTS_V2 network and a tiny NB201 network (the ``cpu_small`` macro settings) on the embedded
digits: seconds of one training epoch (``cpu_small``, train split), then seconds per grid point of the
2-D loss landscape and of the gradient-variance grid on that same train split, each batched
(``torch.vmap``) and as a plain per-point / per-batch loop, printed as ratios to the epoch. Also the
sharpness (power iteration) cost.

Usage: python benchmarks/bench_dynamics.py [--grid 3] [--threads 1] [--gv-batch 64]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch

from nasaudit.analysis.published import published_genotype
from nasaudit.data.loading import load_dataset
from nasaudit.dynamics.functional import EvalData, eval_subset
from nasaudit.dynamics.gradient_variance import gradient_variance_surface
from nasaudit.dynamics.landscape import loss_surface_2d
from nasaudit.dynamics.sharpness import top_hessian_eigenvalue
from nasaudit.nn.networks import build_network
from nasaudit.train.loop import train
from nasaudit.train.protocols import get_protocol

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"


def seconds(work: Any, *args: Any, **kwargs: Any) -> float:
    started = time.perf_counter()
    work(*args, **kwargs)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=3, help="points per axis of the 2-D grids")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gv-batch", type=int, default=64, help="mini-batch size of the gradient variance")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    splits = load_dataset("embedded", val_fraction=0.1, seed=0)
    data = eval_subset(splits, len(splits.train), seed=0)  # the whole train split, as the epoch sees it
    protocol = get_protocol("cpu_small").with_overrides(epochs=1)
    grid = np.linspace(-1.0, 1.0, args.grid)
    points = args.grid ** 2
    print(f"embedded digits: {len(data)} training images, {args.grid}x{args.grid} grid, {args.threads} thread(s)")
    for name, arch, space in (("DARTS_V2", str(published_genotype("DARTS_V2")), "darts"),
                              ("NB201", NB201_ARCH, "nb201")):
        torch.manual_seed(0)
        model = build_network(arch, space, num_classes=splits.num_classes, in_channels=splits.in_channels,
                              **protocol.macro[space])
        epoch = seconds(train, model, splits, protocol, seed=0, progress=False, threads=args.threads)
        print(f"\n{name}: {sum(p.numel() for p in model.parameters()):,} parameters, one epoch {epoch:.2f} s")
        for method in ("vmap", "loop"):
            spent = seconds(loss_surface_2d, model, data, grid, grid, seed=1, method=method)
            print(f"  loss landscape     {method:<5} {spent / points:7.3f} s/point = "
                  f"{spent / points / epoch:6.3f} epochs/point")
        for method in ("vmap", "loop"):
            spent = seconds(gradient_variance_surface, model, data, grid, grid, seed=1, batch_size=args.gv_batch,
                            method=method)
            print(f"  grad variance b={args.gv_batch:<3} {method:<5} {spent / points:7.3f} s/point = "
                  f"{spent / points / epoch:6.3f} epochs/point")
        small = EvalData(data.x[:256], data.y[:256])
        for method in ("vmap", "loop"):
            spent = seconds(gradient_variance_surface, model, small, grid[:1], grid[:1], seed=1, batch_size=1,
                            method=method)
            print(f"  grad variance b=1, 256 images {method:<5} {spent:7.3f} s/point = {spent / epoch:6.3f} epochs")
        started = time.perf_counter()
        sharp = top_hessian_eigenvalue(model, small, seed=0, tol=1e-3, max_iter=50)
        spent = time.perf_counter() - started
        print(f"  sharpness (256 images) {sharp.eigenvalue:.3f} after {sharp.iterations} HVPs, {spent:.2f} s "
              f"= {spent / epoch:.3f} epochs")


if __name__ == "__main__":
    main()
