"""The supernet grid experiment: op masks x training variants x seeds, through the executors into the
results store, and its ranking report (single-path paper Sec. 4.1-4.3, Figs. 4-6).

A spec (YAML) names the ground-truth table and metric, the dataset, the seeds, the base supernet
config, the op masks and the variants (each a set of ``SupernetConfig`` changes). Every (variant,
mask, seed) is one ``ExperimentJob``: train the supernet, evaluate the ranking set of its masked
space, and store the predictions. The report is computed from the store alone, so a killed grid
resumes with the missing jobs and a finished one is re-reported without training.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasaudit.errors import ConfigError, DataError
from nasaudit.jobs.executors import Executor, RunSummary, run_jobs
from nasaudit.jobs.job import ExperimentJob, JobResult, freeze_options
from nasaudit.jobs.store import ResultStore
from nasaudit.metrics import welch_ttest
from nasaudit.weight_sharing.supernet.ranking import N_RANDOM, RankingReport, RankingSet, ranking_report
from nasaudit.weight_sharing.supernet.training import SupernetConfig
from nasaudit.yamlio import read_yaml

_RUN_KEYS = ("benchmark", "metric", "dataset", "data_root", "n_random", "ranking_seed", "bn_batches",
             "max_val_images", "device")
_SPEC_KEYS = {"experiment", "benchmark", "metric", "dataset", "data_root", "seeds", "n_random", "ranking_seed",
              "bn_batches", "max_val_images", "device", "base", "masks", "variants"}


@dataclass(frozen=True)
class GridSpec:
    """What the grid trains and how it is ranked (module doc). ``masks`` are lists of removed ops;
    ``variants`` map a name to ``SupernetConfig`` changes applied on top of ``base``."""

    experiment: str
    benchmark: str
    metric: str
    dataset: str = "embedded"
    data_root: str | None = None
    seeds: tuple[int, ...] = (0, 1, 2)
    n_random: int = N_RANDOM
    ranking_seed: int = 0
    bn_batches: int = 0
    max_val_images: int | None = None
    device: str | None = None
    base: dict[str, Any] = field(default_factory=dict)
    masks: tuple[tuple[str, ...], ...] = ((),)
    variants: dict[str, dict[str, Any]] = field(default_factory=lambda: {"baseline": {}})

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> GridSpec:
        """Read a spec file; ``overrides`` (e.g. ``data_root``) replace its values when not ``None``."""
        source = Path(path)
        if not source.is_file():
            raise ConfigError(f"grid spec not found: {source}")
        data = read_yaml(source) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a grid spec is a mapping of {sorted(_SPEC_KEYS)}")
        data.update({k: v for k, v in overrides.items() if v is not None})
        unknown = sorted(set(data) - _SPEC_KEYS)
        missing = sorted({"experiment", "benchmark", "metric"} - set(data))
        if unknown or missing:
            raise ConfigError(f"{source}: unknown key(s) {unknown}, missing key(s) {missing}; "
                              f"keys are {sorted(_SPEC_KEYS)}")
        data["seeds"] = tuple(int(s) for s in data.get("seeds", (0, 1, 2)))
        data["masks"] = tuple(tuple(m or ()) for m in data.get("masks", [[]]))
        data["variants"] = {str(k): dict(v or {}) for k, v in (data.get("variants") or {"baseline": {}}).items()}
        data["base"] = dict(data.get("base") or {})
        spec = cls(**data)
        spec.configs()  # validate every config now, not in a worker
        return spec

    def configs(self) -> dict[str, SupernetConfig]:
        """Every (variant, mask) config, keyed ``"<variant>|mask=<op+op or ->"``."""
        if not self.seeds or not self.variants or not self.masks:
            raise ConfigError("a grid needs at least one seed, one variant and one mask")
        out = {}
        for variant, changes in self.variants.items():
            for mask in self.masks:
                try:
                    config = SupernetConfig.from_options({**self.base, **changes, "mask": tuple(mask)})
                except TypeError as err:
                    raise ConfigError(f"variant {variant!r}: {err}") from None
                out[f"{variant}|mask={'+'.join(sorted(mask)) or '-'}"] = config
        return out

    def jobs(self) -> list[ExperimentJob]:
        """One job per (variant, mask, seed)."""
        run = {k: getattr(self, k) for k in _RUN_KEYS}
        return [ExperimentJob(self.experiment, key, seed, freeze_options({**dict(config.to_options()), **run}))
                for key, config in self.configs().items() for seed in self.seeds]


def supernet_job(job: ExperimentJob) -> JobResult:
    """Train one supernet and store its predictions on the ranking set (single-path paper Sec. 3.4)."""
    from nasaudit.resources import table_path
    from nasaudit.truth.tabular import TabularBenchmark  # torch loads in the workers only
    from nasaudit.weight_sharing.supernet.evaluator import SupernetEvaluator
    from nasaudit.weight_sharing.supernet.ranking import select_ranking_set
    from nasaudit.weight_sharing.supernet.training import train_supernet

    params = dict(job.params)
    run = {k: params.pop(k) for k in _RUN_KEYS}
    config = SupernetConfig.from_options(params)
    started = time.perf_counter()
    result = train_supernet(config, run["dataset"], seed=job.seed, data_root=run["data_root"], device=run["device"])
    trained = time.perf_counter()
    table = TabularBenchmark.from_file(table_path(run["benchmark"]), config.space)
    rset = select_ranking_set(table, table.column(run["metric"]), config.make_space(), n_random=run["n_random"],
                              seed=run["ranking_seed"])
    evaluator = SupernetEvaluator(result.supernet, result.splits, bn_batches=run["bn_batches"],
                                  max_images=run["max_val_images"])
    predicted = evaluator.evaluate(rset.archs)
    return JobResult(metrics={
        "archs": rset.strings(table.space), "truth": rset.truth.tolist(), "predicted": predicted.tolist(),
        "random": rset.random.tolist(), "ns": list(rset.ns), "space_size": rset.space_size,
        "final_train_acc": result.history[-1].train_acc, "train_seconds": trained - started,
        "eval_seconds": time.perf_counter() - trained,
    })


def run_grid(spec: GridSpec, store: ResultStore, executor: Executor | None = None, *, progress: bool = True,
             max_attempts: int = 1) -> RunSummary:
    """Run the grid's missing jobs on ``executor`` (sequential by default), each result into ``store``."""
    return run_jobs(spec.jobs(), supernet_job, store, executor, max_attempts=max_attempts, progress=progress,
                    description=f"supernet grid {spec.experiment}")


def grid_reports(store: ResultStore, experiment: str) -> dict[str, RankingReport]:
    """The ranking report of every (variant, mask) of ``experiment``, over its finished seeds."""
    results = store.experiment_results(experiment, status="done")
    if results.empty:
        raise DataError(f"no finished results for experiment {experiment!r} in {store!r}")
    reports = {}
    for key, rows in results.groupby("key", sort=False):
        metrics = rows["metrics"].tolist()
        first = metrics[0]
        if any(m["archs"] != first["archs"] for m in metrics):
            raise DataError(f"{experiment}/{key}: seeds were ranked on different architecture sets")
        rset = RankingSet(tuple(first["archs"]), np.asarray(first["truth"]), tuple(first["ns"]),
                          np.asarray(first["random"], dtype=np.int64), int(first["space_size"]))
        reports[str(key)] = ranking_report(rset, np.array([m["predicted"] for m in metrics]), rows["seed"].tolist())
    return reports


def grid_summary(reports: dict[str, RankingReport], baseline: str = "baseline",
                 metrics: Sequence[str] = ("tau_a", "kendall_tau", "spearman")) -> pd.DataFrame:
    """One row per (variant, mask, metric): mean ± std over seeds, and Welch's t-test of the per-seed
    values against the ``baseline`` variant with the same mask (NaN where undefined)."""
    rows = []
    for key, report in reports.items():
        variant, mask = key.split("|mask=")
        reference = reports.get(f"{baseline}|mask={mask}")
        for metric in metrics:
            values = report.per_seed[metric].to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            p_value = float("nan")
            if reference is not None and variant != baseline:
                base = reference.per_seed[metric].to_numpy(dtype=np.float64)
                base = base[np.isfinite(base)]
                if finite.size > 1 and base.size > 1:
                    p_value = welch_ttest(finite, base).pvalue
            rows.append({"variant": variant, "mask": mask, "metric": metric, "seeds": finite.size,
                         "mean": float(finite.mean()) if finite.size else float("nan"),
                         "std": float(finite.std(ddof=1)) if finite.size > 1 else float("nan"),
                         "welch_p_vs_baseline": p_value})
    return pd.DataFrame(rows)
