"""Audit zero-cost proxies against the truth (issue #27): every architecture (or a seeded sample) scored by each
proxy with each of its seeds, and per proxy Kendall tau, Spearman, tau over the truth's top-N (single-path paper
Sec. 3.2, ``PAPER_TOP_NS``), P@K and the proxy's own seed-to-seed tau (its stability), beside the truth's
seed-to-seed ceiling where the table has per-seed columns. Proxies: ``nasaudit.proxies`` (docs/proxies.md)."""

from __future__ import annotations

from itertools import combinations
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from nasaudit.limits import MAX_SAMPLES
from nasaudit.studies._base import Plot, SeedValue, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import agreement, evaluator_ceiling

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np

    from nasaudit.spaces.base import SearchSpace

#: the proxies audited by default: every shipped one
DEFAULT_PROXIES = ("grad_norm", "snip", "grasp", "fisher", "synflow", "jacov", "epe_nas", "nwot", "zen", "plain",
                   "l2_norm", "params", "flops")


class ProxiesSpec(StudySpec):
    """Score ``archs`` seeded architectures (every one when None) of the space with each of ``proxies`` and each
    of ``seeds`` (network initialisation and batch), and rank them against ``evaluator``."""

    evaluator_fields = ("evaluator",)

    kind: Literal["proxies"] = "proxies"
    evaluator: str
    proxies: list[str] = Field(default_factory=lambda: list(DEFAULT_PROXIES), min_length=1, max_length=64)
    seeds: list[SeedValue] = Field(default_factory=lambda: [0, 1], min_length=1, max_length=20)
    archs: int | None = Field(None, ge=2, le=MAX_SAMPLES)
    proxy_dataset: str = "fashion16"
    data_root: str | None = None
    batch_size: int = Field(64, ge=2, le=4096)
    channels: int = Field(4, ge=1, le=256)
    cells_per_stage: int = Field(1, ge=1, le=10)
    fuse: int = Field(1, ge=1, le=1024)
    device: str = "cpu"
    k: int = Field(10, ge=1, le=MAX_SAMPLES)

    def check(self, space: SearchSpace, base_dir: Path) -> list[str]:
        from nasaudit.errors import ConfigError
        from nasaudit.proxies import PROXIES
        from nasaudit.studies.evaluators import EVALUATOR_KINDS, ProxyEvaluatorSpec

        problems = []
        for name in self.proxies:
            try:
                PROXIES.get(name)
            except ConfigError as err:
                problems.append(str(err))
        if len(set(self.proxies)) != len(self.proxies):
            problems.append(f"proxies must be distinct, got {self.proxies}")
        data = ProxyEvaluatorSpec(dataset=self.proxy_dataset, data_root=self.data_root, fuse=self.fuse,
                                  device=self.device)
        return problems + [message for _, message in EVALUATOR_KINDS.get("proxy").check(data, base_dir, space)]


def _population(context: StudyContext, spec: ProxiesSpec) -> tuple[list[Any], np.ndarray]:
    """The evaluator's population (every architecture it knows) and its truth, or ``spec.archs`` of them drawn
    with the audit's seed (in population order)."""
    import numpy as np

    from nasaudit.seeding import as_generator

    archs, truth = context.population(spec.evaluator)
    if spec.archs is None or spec.archs >= len(archs):
        return list(archs), np.asarray(truth, dtype=np.float64)
    chosen = np.sort(as_generator(context.seed).choice(len(archs), spec.archs, replace=False))
    return [archs[i] for i in chosen], np.asarray(truth, dtype=np.float64)[chosen]


def _stability(runs: list[np.ndarray]) -> float:
    """Mean Kendall tau between the scores of each pair of seeds (NaN with one seed)."""
    import numpy as np

    from nasaudit.metrics import kendall_tau

    taus = []
    for a, b in combinations(runs, 2):
        keep = np.isfinite(a) & np.isfinite(b)
        taus.append(kendall_tau(a[keep], b[keep]) if keep.sum() > 1 else float("nan"))
    return float(np.mean(taus)) if taus else float("nan")


@register_study("proxies", ProxiesSpec, "zero-cost proxies against the truth: tau, Spearman, tau@top-N, P@K, "
                                        "seed-to-seed stability")
def run(context: StudyContext, spec: ProxiesSpec) -> StudyResult:
    """Score the population with every proxy and seed; agreement with the truth and stability per proxy."""
    from functools import partial

    import pandas as pd

    from nasaudit.proxies.evaluator import ProxyEvaluator
    from nasaudit.proxies.scoring import ProxySetting
    from nasaudit.report.figures_proxies import plot_proxy_scatter

    archs, truth = _population(context, spec)
    root = str(context.resolve(spec.data_root)) if spec.data_root is not None else None
    scores: dict[tuple[str, int], np.ndarray] = {}
    for name in spec.proxies:
        for seed in spec.seeds:
            setting = ProxySetting(name, spec.proxy_dataset, spec.batch_size, seed, spec.channels, spec.cells_per_stage,
                                   root, spec.device)
            evaluator = ProxyEvaluator(context.space, setting, context.store, context.executor(), fuse=spec.fuse,
                                       progress=context.progress)
            scores[name, seed] = evaluator.evaluate(archs)
    per_seed = pd.DataFrame([{"proxy": name, "seed": seed, **agreement(truth, values, spec.k)}
                             for (name, seed), values in scores.items()])
    summary = per_seed.drop(columns="seed").groupby("proxy", sort=False).mean().reset_index()
    summary["seed_to_seed_tau"] = [_stability([scores[name, s] for s in spec.seeds]) for name in summary["proxy"]]
    summary = summary.sort_values("kendall_tau", ascending=False, na_position="last").reset_index(drop=True)
    scored = context.scored(spec.evaluator)
    tables = [Table("proxies.csv", f"Each proxy against {spec.evaluator}: mean over seeds {spec.seeds}, and its "
                                   "seed-to-seed Kendall tau", summary),
              Table("proxies_per_seed.csv", "Each proxy and seed against the truth", per_seed, show=False),
              Table("proxy_scores.csv", "Every architecture's proxy scores",
                    pd.DataFrame({"arch": [context.space.format(a) for a in archs], "truth": truth,
                                  **{f"{name}@{seed}": v for (name, seed), v in scores.items()}}), show=False)]
    notes = ["Higher proxy = predicted better for every proxy (docs/proxies.md); undefined scores (NaN, e.g. "
             "jacov of a network whose output does not depend on its input) are left out of that proxy's metrics."]
    ceiling = evaluator_ceiling(context, spec.evaluator, archs)
    if ceiling is not None:
        tables.append(Table("truth_ceiling.csv", "The truth's own seed-to-seed agreement (ceiling)", ceiling))
    first = spec.seeds[0]
    label = "accuracy (%)" if scored.units == "percent" else "accuracy"
    return StudyResult(
        title=f"Zero-cost proxies against {spec.evaluator}",
        summary=(f"{len(archs)} architectures scored by {len(spec.proxies)} proxies with seeds {spec.seeds} "
                 f"(untrained {spec.channels}-channel networks, {spec.cells_per_stage} cell(s) per stage, one "
                 f"batch of {spec.batch_size} {spec.proxy_dataset} images per seed), ranked against "
                 f"{scored.description}."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "proxies": spec.proxies, "seeds": spec.seeds,
                  "archs": spec.archs if spec.archs is not None else "all", "proxy_dataset": spec.proxy_dataset,
                  "batch_size": spec.batch_size, "channels": spec.channels,
                  "cells_per_stage": spec.cells_per_stage, "k": spec.k},
        tables=tables, notes=notes,
        plots=[Plot("proxies.png", f"Each proxy (seed {first}) against the truth",
                    partial(plot_proxy_scatter, truth, {name: scores[name, first] for name in spec.proxies},
                            truth_label=label))],
    )
