"""How well a supernet ranks architectures against ground truth (single-path paper Sec. 3.2-3.4, App. D;
search-phase paper Sec. 4.3, Fig. 4).

``select_ranking_set`` picks what to evaluate from any ``TabularBenchmark`` column: the ground-truth
top-N architectures of the (op-masked) space for N = 10 ... 500 and up to 1,000 random ones (all of a
smaller space). ``ranking_report`` turns supernet predictions of several seeds into the paper's report:
the mean predicted accuracy A_N of each top-N and of the random sample with its std over seeds, Kendall
tau inside each group, tau_a, and over the random sample Kendall tau, Spearman, Pearson and
precision@K, each as mean ± std over seeds. The metrics are ``nasaudit.metrics``'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from nasaudit.errors import DataError
from nasaudit.evaluators import Evaluator
from nasaudit.metrics import (
    kendall_tau,
    kendall_tau_topn,
    pearson,
    precision_at_k,
    spearman,
    tau_a,
    top_n_average,
)
from nasaudit.search.compare import run_comparison, summarise
from nasaudit.seeding import as_generator
from nasaudit.spaces.base import SearchSpace
from nasaudit.truth.tabular import TabularBenchmark

#: top-N sizes of the ranking report (single-path paper Sec. 3.2 and the axes of its Fig. 4)
TOP_NS: tuple[int, ...] = (10, 25, 50, 100, 150, 250, 500)
N_RANDOM = 1000
PRECISION_KS: tuple[int, ...] = (10, 50)


@dataclass(frozen=True)
class RankingSet:
    """The architectures a ranking report evaluates: the ground-truth top ``max(ns)`` first (best first),
    then the random ones not already among them. ``random`` indexes the random sample in ``archs``."""

    archs: tuple[Any, ...]
    truth: np.ndarray
    ns: tuple[int, ...]
    random: np.ndarray
    space_size: int

    def strings(self, space: SearchSpace) -> list[str]:
        return [space.format(a) for a in self.archs]


def space_truth(benchmark: TabularBenchmark, metric: str, space: SearchSpace) -> tuple[list[Any], np.ndarray]:
    """The benchmark's architectures that lie in ``space`` (e.g. without a masked op) and their ``metric``."""
    candidates = benchmark.archs()
    keep = np.fromiter((space.contains(a) for a in candidates), dtype=bool, count=len(candidates))
    return [a for a, k in zip(candidates, keep, strict=True) if k], benchmark.scores(metric)[keep]


def select_ranking_set(benchmark: TabularBenchmark, metric: str, space: SearchSpace | None = None, *,
                       ns: Sequence[int] = TOP_NS, n_random: int = N_RANDOM, seed: int = 0) -> RankingSet:
    """Top-N and random architectures of ``space`` (default: the benchmark's) from ``benchmark[metric]``.

    Single-path paper Sec. 3.2/3.4: with an op masked, the top-N are taken from the benchmark rows
    without that op; a space with fewer than ``n_random`` architectures is evaluated in full.
    """
    the_space = space or benchmark.space
    kept, truth = space_truth(benchmark, metric, the_space)
    if len(kept) < 2:
        raise DataError(f"only {len(kept)} benchmark architecture(s) lie in space {the_space.name!r} "
                        f"(ops {list(getattr(the_space, 'ops', []))}); a ranking needs at least 2")
    sizes = tuple(sorted({int(n) for n in ns if 1 <= n <= len(kept)}))
    if not sizes:
        raise DataError(f"no top-N size of {list(ns)} fits the {len(kept)} benchmark architectures of the space")
    order = np.argsort(-truth, kind="stable")
    top = order[:max(sizes)]
    if len(kept) <= n_random:
        random = np.arange(len(kept))
    else:
        random = np.sort(as_generator(seed).choice(len(kept), size=n_random, replace=False))
    chosen = np.concatenate([top, np.setdiff1d(random, top, assume_unique=True)])
    position = np.empty(len(kept), dtype=np.int64)
    position[chosen] = np.arange(chosen.size)
    return RankingSet(tuple(kept[i] for i in chosen), truth[chosen], sizes, np.sort(position[random]), len(kept))


@dataclass(frozen=True)
class RankingReport:
    """``curve``: one row per group (top-N, random) with A_N and tau inside the group, mean and std over
    seeds; ``summary``: tau_a and the random-sample correlations, mean and std over seeds;
    ``per_seed``: every metric of every seed."""

    curve: pd.DataFrame
    summary: pd.DataFrame
    per_seed: pd.DataFrame


def _mean_std(values: np.ndarray) -> tuple[float, float]:
    """Mean and sample std over seeds, ignoring seeds where a correlation is undefined (NaN)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    return float(finite.mean()), float(finite.std(ddof=1)) if finite.size > 1 else 0.0


def ranking_report(rset: RankingSet, predictions: np.ndarray | Sequence[Sequence[float]],
                   seeds: Sequence[int] | None = None, ks: Sequence[int] = PRECISION_KS) -> RankingReport:
    """The ranking report of supernet ``predictions`` (shape ``(seeds, len(rset.archs))``) (module doc).

    tau_a is reported both per seed and, as the paper defines it (Sec. 3.4), on A_N averaged over seeds.
    """
    pred = np.atleast_2d(np.asarray(predictions, dtype=np.float64))
    if pred.shape[1] != len(rset.archs):
        raise DataError(f"predictions have {pred.shape[1]} columns; the ranking set has {len(rset.archs)} "
                        "architectures")
    seed_ids = list(range(pred.shape[0])) if seeds is None else [int(s) for s in seeds]
    if len(seed_ids) != pred.shape[0]:
        raise DataError(f"{len(seed_ids)} seed labels for {pred.shape[0]} prediction rows")
    truth, rand = rset.truth, rset.random
    rows = []
    for n in rset.ns:
        per_seed_avg = np.array([top_n_average(truth, p, [n])[0] for p in pred])
        taus = np.array([kendall_tau_topn(truth, p, n) if n > 1 else np.nan for p in pred])
        rows.append(("top", n, *_mean_std(per_seed_avg), *_mean_std(taus), float(np.mean(np.sort(truth)[::-1][:n]))))
    rand_avg = pred[:, rand].mean(axis=1)
    rand_tau = np.array([kendall_tau(truth[rand], p[rand]) for p in pred])
    rows.append(("random", rand.size, *_mean_std(rand_avg), *_mean_std(rand_tau), float(truth[rand].mean())))
    curve = pd.DataFrame(rows, columns=["group", "n", "pred_mean", "pred_std", "tau_mean", "tau_std", "truth_mean"])

    per_seed: dict[str, Sequence[float]] = {"seed": seed_ids}
    per_seed["tau_a"] = [tau_a(truth, p, rset.ns) if len(rset.ns) > 1 else np.nan for p in pred]
    per_seed["kendall_tau"] = list(rand_tau)
    per_seed["spearman"] = [spearman(truth[rand], p[rand]) for p in pred]
    per_seed["pearson"] = [pearson(truth[rand], p[rand]) for p in pred]
    for k in ks:
        if k <= rand.size:
            per_seed[f"precision@{k}"] = [precision_at_k(truth[rand], p[rand], k) for p in pred]
    per_seed_frame = pd.DataFrame(per_seed)
    summary_rows = [(name, *_mean_std(per_seed_frame[name].to_numpy(dtype=np.float64)))
                    for name in per_seed_frame.columns if name != "seed"]
    if len(rset.ns) > 1:
        summary_rows.insert(1, ("tau_a (seed-mean A_N)", tau_a(truth, pred, rset.ns), float("nan")))
    summary = pd.DataFrame(summary_rows, columns=["metric", "mean", "std"])
    return RankingReport(curve, summary, per_seed_frame)


def ground_truth_ceiling(benchmark: TabularBenchmark, metric: str, archs: Sequence[Any]) -> pd.DataFrame:
    """Kendall tau between the per-seed ground-truth columns ``<metric>_seed<S>`` of a built benchmark
    on ``archs``, one row per seed pair: how well the truth ranks itself, the ceiling of any supernet."""
    columns = sorted((c for c in benchmark.metrics if c.startswith(f"{metric}_seed")),
                     key=lambda c: int(c.rsplit("seed", 1)[1]))
    if len(columns) < 2:
        raise DataError(f"the ceiling needs two or more per-seed columns '{metric}_seed<S>'; the table has "
                        f"{columns or 'none'} (tables from `nasaudit bench export` have them)")
    return seed_pair_taus({c.rsplit("seed", 1)[1]: benchmark.query(archs, c) for c in columns})


def seed_pair_taus(values: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Kendall tau between the scores of every pair of seeds (``values``: seed -> scores of the same
    architectures), one row per pair in order: the truth's ranking of itself."""
    seeds = list(values)
    rows = [(a, b, kendall_tau(values[a], values[b])) for i, a in enumerate(seeds) for b in seeds[i + 1:]]
    return pd.DataFrame(rows, columns=["seed_a", "seed_b", "kendall_tau"])


def rank_disorder(truth: np.ndarray, predictions: np.ndarray) -> pd.DataFrame:
    """Ground-truth rank vs weight-sharing rank of the same architectures (search-phase paper Sec. 4.3,
    Fig. 4): one row per architecture, ranks from 1 (best), the WS rank from the seed-mean prediction."""
    pred = np.atleast_2d(np.asarray(predictions, dtype=np.float64))
    t = np.asarray(truth, dtype=np.float64)
    if pred.shape[1] != t.size:
        raise DataError(f"predictions have {pred.shape[1]} columns for {t.size} architectures")
    mean = pred.mean(axis=0)
    truth_rank = pd.Series(-t).rank(method="min").to_numpy(dtype=np.int64)
    ws_rank = pd.Series(-mean).rank(method="min").to_numpy(dtype=np.int64)
    return pd.DataFrame({"truth": t, "truth_rank": truth_rank, "ws_mean": mean,
                         "ws_std": pred.std(axis=0, ddof=1) if pred.shape[0] > 1 else np.zeros_like(mean),
                         "ws_rank": ws_rank, "rank_change": np.abs(ws_rank - truth_rank)}
                        ).sort_values("truth_rank", kind="stable").reset_index(drop=True)


def weight_sharing_comparison(space: SearchSpace, evaluators: Mapping[str, Evaluator], truth: Evaluator,
                              strategies: Sequence[str], budget: int, seeds: int | Sequence[int],
                              space_scores: np.ndarray) -> pd.DataFrame:
    """Query-based strategies run with each evaluator (e.g. ``{"with WS": supernet, "without WS": truth}``)
    on the same space and seeds, every final architecture scored by ``truth`` (search-phase paper Sec.
    4.3, Table 4): final accuracy mean ± std, best, best rank, p(>random); one row per (evaluator, strategy).
    """
    frames = []
    for name, evaluator in evaluators.items():
        comparison = run_comparison(space, evaluator, strategies, budget, seeds)
        frame = summarise(comparison, truth, space_scores)
        frame.insert(0, "evaluator", name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
