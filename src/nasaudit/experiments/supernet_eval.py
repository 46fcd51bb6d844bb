"""Supernet evaluators and the supernet-ranking section of a spec (single-path paper Sec. 3-4).

Supernets are trained with a checkpoint after every epoch under ``<output>/supernets/``, so a killed
run resumes its training instead of starting over.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nasaudit.errors import ConfigError
from nasaudit.experiments.executors import make_executor
from nasaudit.experiments.spec import SupernetEvaluatorSpec, SupernetGridSpec, SupernetRankingSpec
from nasaudit.spaces import get_space
from nasaudit.supernet import (
    SupernetConfig,
    SupernetEvaluator,
    ground_truth_ceiling,
    rank_disorder,
    ranking_report,
    select_ranking_set,
    train_supernet,
)

if TYPE_CHECKING:
    from nasaudit.experiments.runner import Runner, SectionRecord

#: the shipped grid on the embedded digits
EMBEDDED_GRID = Path(__file__).resolve().parents[1] / "supernet" / "specs" / "embedded_grid.yaml"
#: the "tiny" size: a CPU-friendly supernet (8 channels, one cell per stage)
TINY = {"size": "S", "channels": 8, "depth": 1}


def supernet_config(runner: Runner, config: SupernetEvaluatorSpec) -> SupernetConfig:
    """The SPOS config of a spec's supernet evaluator: the spec's space, its missing ops masked."""
    base = runner.spec.space.name
    mask = [op for op in get_space(base).ops if op not in runner.space.ops]
    size = TINY if config.size == "tiny" else {"size": config.size}
    try:
        return SupernetConfig(space=base, mask=tuple(mask), sampling=config.sampling, epochs=config.epochs,
                              batch_size=64 if config.size == "tiny" else None, **size)
    except TypeError as err:
        raise ConfigError(f"cannot build a supernet for space {base!r}: {err}") from None


def train_for(runner: Runner, name: str, config: SupernetEvaluatorSpec, seed: int) -> SupernetEvaluator:
    """Train (or resume) the supernet ``name`` with ``seed``; return its batched evaluator."""
    checkpoints = runner.out / "supernets" / f"{name}-seed{seed}"
    run = train_supernet(supernet_config(runner, config), config.dataset, seed=seed, data_root=config.data_root,
                         checkpoint_dir=checkpoints)
    return SupernetEvaluator(run.supernet, run.splits)


def build_supernet_evaluator(runner: Runner, name: str, config: SupernetEvaluatorSpec) -> SupernetEvaluator:
    """A spec's supernet evaluator, trained with the spec's seed."""
    return train_for(runner, name, config, runner.spec.seed)


def supernet_ranking_section(runner: Runner, spec: SupernetRankingSpec, section: SectionRecord, folder: Path) -> None:
    """Predicted accuracy of the ground-truth top-N, tau, tau_a and the seed-to-seed ceiling of the truth."""
    from nasaudit.report.figures_supernet import plot_predictions, plot_rank_disorder, plot_top_n_curves

    truth = runner.scored(spec.truth)
    if truth.benchmark is None or truth.column is None:
        raise ConfigError(f"supernet_ranking needs a table evaluator as truth; {spec.truth!r} is not one")
    config = runner.spec.evaluators[spec.supernet]
    if not isinstance(config, SupernetEvaluatorSpec):
        raise ConfigError(f"supernet_ranking needs a supernet evaluator; {spec.supernet!r} is a {config.kind}")
    rset = select_ranking_set(truth.benchmark, truth.column, runner.space, seed=runner.spec.seed)
    seeds = list(range(runner.spec.seed, runner.spec.seed + spec.seeds))
    predictions = np.stack([train_for(runner, spec.supernet, config, s).evaluate(list(rset.archs)) for s in seeds])
    report = ranking_report(rset, predictions, seeds)
    ceiling = _ceiling(truth.benchmark, truth.column, list(rset.archs))
    section.title = "Supernet ranking vs ground truth"
    section.summary = (
        f"SPOS supernets ({config.size}, {config.sampling} sampling, {config.epochs} epochs on {config.dataset}) "
        f"trained with seeds {seeds} predict the accuracy of the ground-truth top-N and of random architectures "
        f"of the space; the truth is {truth.description}.")
    section.settings.update(supernet=spec.supernet, truth=spec.truth, supernet_seeds=", ".join(map(str, seeds)),
                            ranking_set=len(rset.archs), top_n=", ".join(map(str, rset.ns)))
    if ceiling is not None:
        section.notes.append(
            f"Ceiling: the ground truth's own seed-to-seed Kendall tau on these architectures is "
            f"{ceiling['kendall_tau'].mean():.3f}; no supernet can be expected to rank better than that.")
        section.add_table(folder, "ceiling.csv", "Seed-to-seed Kendall tau of the ground truth", ceiling)
    section.add_table(folder, "summary.csv", "Ranking correlations, mean and std over supernet seeds",
                      report.summary)
    section.add_table(folder, "curve.csv", "Predicted accuracy A_N and tau within each top-N", report.curve)
    section.add_table(folder, "per_seed.csv", "Every metric of every supernet seed", report.per_seed, show=False)
    frame = pd.DataFrame({"arch": rset.strings(runner.space), "truth": rset.truth})
    for seed, row in zip(seeds, predictions, strict=True):
        frame[f"supernet_seed{seed}"] = row
    section.add_table(folder, "predictions.csv", "Supernet predictions of every ranked architecture", frame,
                      show=False)
    plot_predictions(rset, predictions, section.add_figure(folder, "predictions.png", "Supernet vs ground truth"),
                     truth_label=truth.column)
    plot_top_n_curves({f"seeds {seeds}": report},
                      section.add_figure(folder, "top_n.png", "A_N and tau within the top-N (Fig. 4)"))
    plot_rank_disorder(rank_disorder(rset.truth[rset.random], predictions[:, rset.random]),
                       section.add_figure(folder, "rank_disorder.png", "Ground-truth rank vs supernet rank"))


def _ceiling(benchmark, column: str, archs: list) -> pd.DataFrame | None:
    """Seed-to-seed tau of the truth, when the table has per-seed columns of ``column``."""
    base = column.removesuffix("_mean")
    if not any(m.startswith(f"{base}_seed") for m in benchmark.metrics):
        return None
    return ground_truth_ceiling(benchmark, base, archs)


def supernet_grid_section(runner: Runner, spec: SupernetGridSpec, section: SectionRecord, folder: Path) -> None:
    """Which supernet training variants help under which op mask, with error bars over seeds (Figs. 4-6)."""
    from nasaudit.report.figures_supernet import plot_top_n_curves
    from nasaudit.supernet.grid import GridSpec, grid_reports, grid_summary, run_grid

    path = EMBEDDED_GRID if spec.grid == "embedded" else runner.spec.resolve(spec.grid)
    grid = GridSpec.from_yaml(path)
    executor = runner.spec.executor
    summary = run_grid(grid, runner.store, make_executor(executor.kind, executor.workers, executor.address))
    if not summary.complete:
        raise ConfigError(f"supernet grid {grid.experiment!r}: {summary}")
    reports = grid_reports(runner.store, grid.experiment)
    table = grid_summary(reports)
    section.title = "Supernet training variants and op masks"
    section.summary = (
        f"{len(reports)} (variant, mask) settings x {len(grid.seeds)} seeds of SPOS supernets, each ranked against "
        f"{grid.benchmark} ({grid.metric}); mean and std over seeds, and Welch's t-test of each variant against the "
        "baseline with the same mask (single-path paper Sec. 4).")
    section.settings.update(grid=str(path), experiment=grid.experiment, seeds=", ".join(map(str, grid.seeds)),
                            variants=", ".join(grid.variants), executor=executor.kind)
    kendall = table[table["metric"] == "kendall_tau"].sort_values("mean", ascending=False)
    best = kendall.iloc[0]
    section.notes.append(f"Highest Kendall tau: {best['variant']} with mask {best['mask']} "
                         f"({best['mean']:.3f} ± {best['std']:.3f} over {best['seeds']} seeds).")
    section.add_table(folder, "grid_summary.csv", "Ranking metrics per variant and mask (mean, std, p vs baseline)",
                      table)
    curves = pd.concat([r.curve.assign(key=k) for k, r in reports.items()])
    section.add_table(folder, "grid_curves.csv", "A_N and tau within each top-N per setting", curves, show=False)
    for mask in dict.fromkeys(key.split("|mask=")[1] for key in reports):
        chosen = {key.split("|")[0]: r for key, r in reports.items() if key.endswith(f"|mask={mask}")}
        name = f"top_n_mask_{mask.replace('+', '_')}.png"
        plot_top_n_curves(chosen, section.add_figure(folder, name, f"A_N and tau within the top-N, mask={{{mask}}}"),
                          title=f"mask={{{mask}}}")
