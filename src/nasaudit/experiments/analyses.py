"""One handler per analysis kind of a spec: compute, write tidy CSVs and PNGs, describe the section.

Each handler fills a ``SectionRecord`` stating the data, settings and seeds behind it, so a reader of
the report can reproduce it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nasaudit.analysis.importance import IMPORTANCE_THRESHOLD
from nasaudit.experiments.spec import (
    CellShapeSpec,
    CompareSpec,
    ImportanceSpec,
    OpUsageSpec,
    PrimSkipSpec,
    SubgraphsSpec,
    SupernetGridSpec,
    SupernetRankingSpec,
)

if TYPE_CHECKING:
    from nasaudit.experiments.runner import Runner, SectionRecord

TEST_AS_VALIDATION = ("The table's test accuracy stands in where the papers use validation accuracy "
                      "(the table has no validation column).")


def _note_metric(runner: Runner, name: str, section: SectionRecord) -> None:
    scored = runner.scored(name)
    if scored.column is not None and "test" in scored.column.lower():
        section.notes.append(TEST_AS_VALIDATION)


def compare(runner: Runner, spec: CompareSpec, section: SectionRecord, folder: Path) -> None:
    """Fair comparison with random search (search-phase paper Sec. 3.1, Fig. 1c, App. A.2)."""
    from nasaudit.metrics import expected_best_of_n
    from nasaudit.report.figures_search import plot_best_so_far
    from nasaudit.search.compare import run_comparison, summarise

    truth_name = spec.truth or spec.evaluator
    search = runner.scored(spec.evaluator)
    truth = runner.scored(truth_name)
    _, space_scores = runner.population(truth_name)
    seeds = list(range(runner.spec.seed, runner.spec.seed + spec.seeds))
    comparison = run_comparison(runner.space, search.evaluator, spec.strategies, spec.budget, seeds)
    summary = summarise(comparison, truth.evaluator, space_scores)
    section.title = f"Search vs random search ({spec.evaluator}"
    section.title += ")" if truth_name == spec.evaluator else f" as evaluator, scored by {truth_name})"
    section.summary = (
        f"Each strategy ran {spec.seeds} seeds at {spec.budget} queries against {search.description}; the final "
        f"architectures are scored by {truth.description}. p_gt_random is the mean over seeds of "
        f"(1 - rank/|space|)^budget, the chance of beating random search with the same budget.")
    section.settings.update(space=runner.space.name, space_size=runner.space.size,
                            strategies=", ".join(spec.strategies), budget=spec.budget,
                            seeds=f"{seeds[0]}..{seeds[-1]}", search_evaluator=spec.evaluator,
                            truth=truth_name)
    expected = expected_best_of_n(space_scores, spec.budget)
    section.notes.append(f"Expected best of {spec.budget} uniform random draws from the space: {expected:.3f}.")
    _note_metric(runner, truth_name, section)
    section.add_table(folder, "summary.csv", "Strategies scored by ground truth", summary)
    section.add_table(folder, "trajectories.csv", "Every query of every run", comparison.trajectories(),
                      show=False)
    plot_best_so_far(comparison.curves(), section.add_figure(folder, "best_so_far.png",
                                                              "Best score so far vs queries (mean ± std over seeds)"),
                     ylabel=f"best so far ({search.description})")


def _top_oi(runner: Runner, name: str, top: float, threshold: float) -> pd.DataFrame:
    """OI of the top fraction under evaluator ``name``; computed once per run and shared by the analyses."""
    from nasaudit.analysis.importance import operation_importance
    from nasaudit.analysis.ranking import top_fraction

    key = ("oi", name, top, threshold)
    if key not in runner.memo:
        archs, scores = runner.population(name)
        chosen, _ = top_fraction(archs, scores, top)
        scored = runner.scored(name)
        runner.memo[key] = operation_importance(scored.evaluator, chosen, units=scored.units, threshold=threshold)
    return runner.memo[key]


def importance(runner: Runner, spec: ImportanceSpec, section: SectionRecord, folder: Path) -> None:
    """Operation importance (redundancy paper Sec. 3, eq. 1, Fig. 3/4)."""
    from nasaudit.analysis.importance import importance_counts
    from nasaudit.report.figures_analysis import plot_importance_boxes, plot_operation_counts

    oi = _top_oi(runner, spec.evaluator, spec.top, spec.threshold)
    section.title = f"Operation importance ({spec.evaluator})"
    section.summary = (
        f"OI = y(arch) - mean y(neighbours) for every operation of the top {spec.top:.0%} architectures "
        f"({oi['arch'].nunique()} archs, {len(oi)} operations); |OI| >= {spec.threshold} marks an important one.")
    section.settings.update(evaluator=spec.evaluator, top=spec.top, threshold=spec.threshold,
                            scores=runner.scored(spec.evaluator).description)
    _note_metric(runner, spec.evaluator, section)
    section.add_table(folder, "importance_counts.csv", "All vs important operations per primitive",
                      importance_counts(oi))
    section.add_table(folder, "importance.csv", "OI of every operation", oi, show=False)
    plot_operation_counts(oi, section.add_figure(folder, "counts.png", "Operations per primitive: all vs important"))
    plot_importance_boxes(oi, section.add_figure(folder, "boxes.png", "Distribution of OI per primitive"),
                          spec.threshold)


def subgraphs(runner: Runner, spec: SubgraphsSpec, section: SectionRecord, folder: Path) -> None:
    """Frequent important subgraphs ranked by support ratio (redundancy paper Fig. 7, Table 1, App. I)."""
    from nasaudit.analysis.subgraphs import important_subgraphs, mine_frequent_subgraphs
    from nasaudit.report.figures_analysis import plot_subgraphs

    oi = _top_oi(runner, spec.evaluator, spec.top, IMPORTANCE_THRESHOLD)
    important, full = important_subgraphs(runner.space, oi)
    mined = mine_frequent_subgraphs(important, full, min_support=spec.min_support, seed=runner.spec.seed)
    section.title = f"Frequent subgraphs of important operations ({spec.evaluator})"
    section.summary = (
        f"Connected subgraphs of the important-operation subgraphs of {len(important)} top cells with support >= "
        f"{spec.min_support}, ranked by the ratio of their support to that among random same-size subgraphs.")
    section.settings.update(evaluator=spec.evaluator, top=spec.top, min_support=spec.min_support)
    section.add_table(folder, "subgraphs.csv", "Frequent subgraphs, best ratio first", mined)
    if len(mined):
        plot_subgraphs(mined, section.add_figure(folder, "subgraphs.png", "Top subgraphs with support and ratio"))


def primskip(runner: Runner, spec: PrimSkipSpec, section: SectionRecord, folder: Path) -> None:
    """The four PrimSkip groups compared (redundancy paper Sec. 4, Fig. 10, App. D Fig. 16)."""
    from nasaudit.analysis.primskip import group_summary, optimum_vs_groups, primskip_study
    from nasaudit.report.figures_analysis import plot_primskip

    scored = runner.scored(spec.evaluator)
    study = primskip_study(scored.evaluator, n_per_group=spec.samples, seed=runner.spec.seed)
    section.title = f"PrimSkip groups ({spec.evaluator})"
    section.summary = (f"{spec.samples} seeded samples per group (no constraint, Skip only, Prim only, PrimSkip), "
                       f"scored by {scored.description}.")
    section.settings.update(evaluator=spec.evaluator, samples_per_group=spec.samples)
    section.add_table(folder, "summary.csv", "Score distribution per group", group_summary(study))
    optimum = None
    if runner.space.size <= 100_000:
        archs, scores = runner.population(spec.evaluator)
        located = optimum_vs_groups(runner.space, archs, scores, study)
        optimum = float(located["optimum_score"].iloc[0])
        inside = bool(located.set_index("group")["optimum_in_group"].get("primskip", False))
        section.notes.append(f"The space's optimum ({located['optimum'].iloc[0]}, {optimum:.3f}) is "
                             f"{'inside' if inside else 'outside'} the PrimSkip group.")
        section.add_table(folder, "optimum.csv", "Where the global optimum falls", located)
    section.add_table(folder, "samples.csv", "Every sampled architecture", study, show=False)
    plot_primskip(study, section.add_figure(folder, "groups.png", "Scores per group"), optimum=optimum,
                  score_label=scored.description)


def op_usage(runner: Runner, spec: OpUsageSpec, section: SectionRecord, folder: Path) -> None:
    """Op usage among the ground-truth top-N, each op masked once (single-path paper Fig. 3)."""
    from nasaudit.analysis.op_usage import op_usage as compute
    from nasaudit.report.figures_analysis import plot_op_usage

    archs, scores = runner.population(spec.evaluator)
    usage = compute(runner.space, archs, scores)
    section.title = f"Op usage among the top-N ({spec.evaluator})"
    section.summary = ("How many of the top-N architectures use each op at least once (usage) and each op's share "
                       "of all positions, for the whole space and with each op masked.")
    section.settings.update(evaluator=spec.evaluator, architectures=len(archs))
    section.add_table(folder, "op_usage.csv", "Usage and share per op, top-N and mask", usage, show=False)
    plot_op_usage(usage, section.add_figure(folder, "op_usage.png", "Op usage vs N"))


def cell_shape(runner: Runner, spec: CellShapeSpec, section: SectionRecord, folder: Path) -> None:
    """Width and depth of cells (architectures paper Sec. 3.2)."""
    from nasaudit.analysis.cell_shape import shape_table
    from nasaudit.analysis.published import REPORTED_SHAPES, published_genotype, published_names
    from nasaudit.report.figures_analysis import plot_cell_shapes
    from nasaudit.spaces import DartsSpace

    darts = DartsSpace()
    named: dict[str, Any] = {f"arch_{i + 1}": darts.parse(a) for i, a in enumerate(spec.archs)}
    if not named:
        named = {name: published_genotype(name) for name in published_names()}
    shapes = shape_table(named)
    shapes["reported"] = [
        f"{REPORTED_SHAPES[n][0]:g}c, {REPORTED_SHAPES[n][1]}" if n in REPORTED_SHAPES else "" for n in shapes["name"]
    ]
    section.title = "Cell width and depth"
    section.summary = ("Width (in units of c, the channels of one intermediate node) and depth of the normal cells, "
                       "next to the values the architectures paper reports where it reports them.")
    section.settings.update(cells=len(named))
    section.add_table(folder, "cell_shape.csv", "Width and depth of each normal cell", shapes)
    plot_cell_shapes(shapes, section.add_figure(folder, "cell_shape.png", "Width vs depth"))


def supernet_ranking(runner: Runner, spec: SupernetRankingSpec, section: SectionRecord, folder: Path) -> None:
    """How a weight-sharing supernet ranks against ground truth (single-path paper Sec. 3-4)."""
    from nasaudit.experiments.supernet_eval import supernet_ranking_section

    supernet_ranking_section(runner, spec, section, folder)


def supernet_grid(runner: Runner, spec: SupernetGridSpec, section: SectionRecord, folder: Path) -> None:
    """Op masks x training variants x seeds of supernets, ranked (single-path paper Sec. 4, Figs. 4-6)."""
    from nasaudit.experiments.supernet_eval import supernet_grid_section

    supernet_grid_section(runner, spec, section, folder)


HANDLERS = {
    "compare": compare, "importance": importance, "subgraphs": subgraphs, "primskip": primskip,
    "op_usage": op_usage, "cell_shape": cell_shape, "supernet_ranking": supernet_ranking,
    "supernet_grid": supernet_grid,
}

