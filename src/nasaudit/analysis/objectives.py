"""Cost objectives of architectures for multi-objective studies (redundancy paper App. G, Fig. 32): parameters and
FLOPs of the stand-alone network, counted, and CPU latency, measured.

Counts use the package's one implementation of each (``nasaudit.nn.count_parameters``, ``nasaudit.nn.count_flops``,
which the ``params``/``flops`` proxies also use) on the network ``build_network`` builds (NB201: 16 channels, 5 cells
per stage, the benchmark's network). An NB201 network is the same for every edge of a cell but for the edge's op,
and the edges' ops share nothing, so a count is additive over edges: ``count(arch) = T(b) + sum_e (T(op_e) - T(b))
/ 6`` where ``T(op)`` counts the network with ``op`` on all six edges and ``b`` is one op. The six-edge networks of
each op are counted once and the sum gives every cell; the sums are checked against direct counts of two cells
mixing the ops (``DataError`` on a mismatch), once per process and setting. Other families are counted network by
network, at most ``MAX_COUNTED`` of them.

Latency is a measurement: the median of ``repeats`` timed forward passes of one fixed image (zeros) at batch 1 on
one CPU thread, after ``warmup`` untimed ones. It differs between machines and runs, so callers keep it beside
results (a separate file), never in result keys or compared artefacts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from nasaudit.errors import ConfigError, DataError

if TYPE_CHECKING:
    from torch import nn

    from nasaudit.spaces.base import SearchSpace

#: objectives counted on the network (higher = more costly)
COUNTED = ("params", "flops")
#: networks counted one by one for a family without the per-edge sum (NB201 cells are summed, any number)
MAX_COUNTED = 256
#: networks whose latency one call measures
MAX_TIMED = 5_000
#: timed forward passes per network
MAX_REPEATS = 1_000
#: cells counted directly to check the per-edge sum
_CHECKED = 2


@dataclass(frozen=True)
class NetworkShape:
    """The network an objective is counted on: classes of its classifier and the input image (NB201 CIFAR-10:
    10 classes, 3 x 32 x 32)."""

    classes: int = 10
    image_size: int = 32
    in_channels: int = 3

    @property
    def input(self) -> tuple[int, int, int]:
        return (self.in_channels, self.image_size, self.image_size)


def _build(arch: Any, space: SearchSpace | str, shape: NetworkShape) -> nn.Module:
    """The stand-alone network of ``arch``, built without touching torch's global random state."""
    import torch

    from nasaudit.nn import build_network

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build_network(arch, space, num_classes=shape.classes, in_channels=shape.in_channels)


def _counter(name: str, shape: NetworkShape) -> Callable[[nn.Module], int]:
    from nasaudit.nn import count_flops, count_parameters

    if name == "params":
        return count_parameters
    if name == "flops":
        return lambda network: count_flops(network, shape.input)
    raise ConfigError(f"counted objectives are {', '.join(COUNTED)}, not {name!r}")


def count_objective(space: SearchSpace, archs: Sequence[Any], name: str,
                    shape: NetworkShape = NetworkShape()) -> np.ndarray:
    """``params`` or ``flops`` of each architecture's network (module doc), one float64 per architecture."""
    values = [space.coerce(a) for a in archs]
    if not values:
        return np.empty(0, dtype=np.float64)
    if space.family == "nb201":
        return _edge_sum(values, tuple(space.ops), name, shape)
    count = _counter(name, shape)
    distinct = list(dict.fromkeys(values))
    if len(distinct) > MAX_COUNTED:
        raise ConfigError(f"{name} of {space.family} networks is counted network by network, at most {MAX_COUNTED} "
                          f"of them, not {len(distinct)}: give the truth table a {name!r} column")
    counted = {arch: float(count(_build(arch, space, shape))) for arch in distinct}
    return np.array([counted[a] for a in values], dtype=np.float64)


def _edge_sum(archs: list[Any], ops: tuple[str, ...], name: str, shape: NetworkShape) -> np.ndarray:
    """NB201 counts as the per-edge sum of the module doc, over the space's ``ops``."""
    base, delta = _edge_costs(ops, len(archs[0].ops), name, shape)
    index = {op: i for i, op in enumerate(ops)}
    positions = np.array([[index[op] for op in arch.ops] for arch in archs], dtype=np.int64)
    return (base + np.asarray(delta, dtype=np.int64)[positions].sum(axis=1)).astype(np.float64)


@lru_cache(maxsize=64)
def _edge_costs(ops: tuple[str, ...], edges: int, name: str, shape: NetworkShape) -> tuple[int, tuple[int, ...]]:
    """``T(b)`` and each op's ``(T(op) - T(b)) / edges`` (module doc), checked against direct counts of
    ``_CHECKED`` cells that mix the ops; computed once per process and setting."""
    from nasaudit.spaces.nb201 import NB201Arch

    count = _counter(name, shape)
    whole = [count(_build(NB201Arch((op,) * edges), "nb201", shape)) for op in ops]
    if any((total - whole[0]) % edges for total in whole):
        totals = dict(zip(ops, whole, strict=True))
        raise DataError(f"{name} of NB201 networks is not a sum over edges here ({totals}); the per-edge count "
                        "does not apply")
    delta = tuple((total - whole[0]) // edges for total in whole)
    for shift in range(min(_CHECKED, len(ops) - 1)):
        cell = [(k + shift) % len(ops) for k in range(edges)]  # every op in turn along the edges
        direct = count(_build(NB201Arch(tuple(ops[i] for i in cell)), "nb201", shape))
        if direct != whole[0] + sum(delta[i] for i in cell):
            raise DataError(f"the per-edge sum of NB201 {name} differs from the direct count ({direct}) of "
                            f"{NB201Arch(tuple(ops[i] for i in cell))}")
    return whole[0], delta


def measure_latency(space: SearchSpace, archs: Sequence[Any], shape: NetworkShape = NetworkShape(),
                    repeats: int = 10, warmup: int = 2) -> np.ndarray:
    """Seconds of one forward pass of each architecture's network: the median of ``repeats`` timed passes of a
    zero image at batch 1 on one CPU thread, in eval mode without gradients (module doc: a measurement)."""
    import torch

    if not 1 <= repeats <= MAX_REPEATS or not 0 <= warmup <= MAX_REPEATS:
        raise ConfigError(f"latency takes 1..{MAX_REPEATS} timed and 0..{MAX_REPEATS} warm-up passes, got "
                          f"{repeats} and {warmup}")
    if len(archs) > MAX_TIMED:
        raise ConfigError(f"latency is measured for at most {MAX_TIMED} architectures at a time, not {len(archs)}")
    image = torch.zeros((1, *shape.input))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    seconds = np.empty(len(archs), dtype=np.float64)
    try:
        for k, arch in enumerate(archs):
            network = _build(arch, space, shape).eval()
            times = np.empty(repeats, dtype=np.float64)
            with torch.no_grad():
                for _ in range(warmup):
                    network(image)
                for r in range(repeats):
                    start = time.perf_counter()
                    network(image)
                    times[r] = time.perf_counter() - start
            seconds[k] = float(np.median(times))
    finally:
        torch.set_num_threads(threads)
    return seconds
