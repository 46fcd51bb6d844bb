"""Operation importance of the top (or worst) of the space (redundancy paper Sec. 3, eq. 1, Fig. 3/4 and 8; App. A
Fig. 11/12)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from nasaudit.jobs.job import absent_means
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import (
    DEFAULT_THRESHOLD,
    DEFAULT_TOP,
    Tail,
    cells_label,
    metric_notes,
    top_operation_importance,
)

if TYPE_CHECKING:
    import pandas as pd

#: what the paper found, shown beside ours (Sec. 4 with Fig. 8 for the best cells, App. A for the worst)
PAPER_SKIP_LINKS = ("Paper (Sec. 4, Fig. 8, NB301 top 5%): skips are only useful as residual links; the in0/in1 "
                    "skips carry the positive, important OI of skip, the other skips do not; a residual link is in "
                    "98.5% of the top normal cells, against about half of random ones.")
PAPER_WORST = ("Paper (App. A, Fig. 11/12, NB301 worst 5%): the worst cells hold many pooling operations (mp3, ap3), "
               "many of them important with negative OI; d3/d5 stay neutral; s3/s5 stay positive even there; skips "
               "are negative in general with a very large spread.")

#: Sec. 3 (Fig. 3/4), NB301 top 5%: the three findings each DARTS-space run is checked against
PAPER_DARTS_CLAIMS = ("Paper (Sec. 3, Fig. 3/4, NB301 top 5%): (#1) only a fraction of the operations are important; "
                      "(#2) reduce cells hold far fewer important operations than normal cells, their OI centred near "
                      "zero; (#3) the important operations of normal cells are separable convolutions (s3, s5) and "
                      "skip, while pooling and dilated convolutions are rarely important.")
#: the primitives of finding #3
DARTS_KEY_PRIMITIVES = frozenset({"sep_conv_3x3", "sep_conv_5x5", "skip_connect"})


class ImportanceSpec(StudySpec):
    """OI of every operation of the top ``top`` fraction of architectures under ``evaluator``."""

    evaluator_fields = ("evaluator",)

    kind: Literal["importance"] = "importance"
    evaluator: str
    top: float = Field(DEFAULT_TOP, gt=0, le=1, description="Fraction of architectures analysed, at the chosen tail.")
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0, le=1)
    tail: Tail = Field("best", json_schema_extra=absent_means("best"),
                       description="best: the top fraction (Sec. 3); worst: the bottom fraction (App. A).")


@register_study("importance", ImportanceSpec, "operation importance of the top architectures (redundancy Sec. 3)")
def run(context: StudyContext, spec: ImportanceSpec) -> StudyResult:
    """OI = y(arch) - mean y(neighbours) for every operation of the top (or worst) architectures; the OI of skips
    split by the residual link each forms."""
    from nasaudit.analysis.importance import importance_counts, skip_link_summary, skip_links
    from nasaudit.analysis.operations import SINGLE_CELL
    from nasaudit.report.figures_analysis import plot_importance_boxes, plot_operation_counts

    oi = top_operation_importance(context, spec.evaluator, spec.top, spec.threshold, spec.tail)
    counts = importance_counts(oi)
    which = "top" if spec.tail == "best" else "worst"
    result = StudyResult(
        title=f"Operation importance ({spec.evaluator}{'' if spec.tail == 'best' else ', worst architectures'})",
        summary=(f"OI = y(arch) - mean y(neighbours) for every operation of the {which} {spec.top:.0%} architectures "
                 f"({oi['arch'].nunique()} archs, {len(oi)} operations); |OI| >= {spec.threshold} marks an "
                 "important one."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "top": spec.top, "threshold": spec.threshold,
                  "tail": spec.tail, "scores": context.scored(spec.evaluator).description},
        notes=metric_notes(context, spec.evaluator),
        tables=[Table("importance_counts.csv", "All vs important operations per primitive", counts),
                Table("importance.csv", "OI of every operation", oi, show=False)],
        plots=[Plot("counts.png", "Operations per primitive: all vs important", partial(plot_operation_counts, oi)),
               Plot("boxes.png", "Distribution of OI per primitive",
                    partial(plot_importance_boxes, oi, threshold=spec.threshold))],
    )
    if spec.tail == "worst":
        result.notes += [PAPER_WORST, f"Ours: {_median_oi_text(counts)}."]
    elif {"normal", "reduce"} <= set(counts["cell"]):
        result.notes += [PAPER_DARTS_CLAIMS, *_darts_claims(counts)]
    links = skip_links(context.space, oi)
    if len(links):
        summary = skip_link_summary(oi, links)
        result.tables.append(Table("skip_links.csv", "OI of skip connections by the residual link each forms "
                                   "(in0/in1: from a cell input; other: between intermediate nodes)", summary))
        result.plots.append(Plot("skip_links.png", "OI of skips by residual link (Fig. 8)",
                                 partial(plot_importance_boxes, _by_link(links), threshold=spec.threshold)))
        if spec.tail == "best" and SINGLE_CELL not in set(oi["cell"]):  # Fig. 8 is about the DARTS cells
            result.notes.append(PAPER_SKIP_LINKS)
        result.notes.append(f"Ours: {_skip_link_text(summary)}.")
    return result


def _darts_claims(counts: pd.DataFrame) -> list[str]:
    """Ours against each finding of ``PAPER_DARTS_CLAIMS``, saying plainly whether it holds, with the counts behind."""
    from nasaudit.report.figures_analysis import short_name

    def share(rows: pd.DataFrame) -> float:
        return float(rows["n_important"].sum() / max(int(rows["n_all"].sum()), 1))

    normal, reduce = counts[counts["cell"] == "normal"], counts[counts["cell"] == "reduce"]
    overall = share(counts)
    ranked = normal.sort_values(["fraction_important", "n_important"], ascending=False, kind="stable")
    leaders = [str(p) for p in ranked["primitive"].head(3)]
    held = set(leaders) <= DARTS_KEY_PRIMITIVES
    ranking = ", ".join(f"{short_name(str(r.primitive))} {r.fraction_important:.0%}" for r in ranked.itertuples())
    return [
        f"Ours #1: {overall:.0%} of the operations are important: {'holds' if overall < 0.5 else 'does not hold'}.",
        f"Ours #2: {share(normal):.0%} of normal-cell and {share(reduce):.0%} of reduce-cell operations are important "
        f"(median |OI| {normal['median_oi'].abs().median():.4f} vs {reduce['median_oi'].abs().median():.4f}): "
        f"{'holds' if share(reduce) < share(normal) else 'does not hold'}.",
        f"Ours #3: share important per primitive in normal cells: {ranking}; the three most often important are "
        f"{'' if held else 'not all '}among s3, s5 and skip: {'holds' if held else 'does not hold'}.",
    ]


def _median_oi_text(counts: pd.DataFrame) -> str:
    """'normal cells: median OI s3 +0.0012, ...; reduce cells: ...' from ``importance_counts``."""
    from nasaudit.report.figures_analysis import short_name

    parts = []
    for cell, rows in counts.groupby("cell", sort=True):
        medians = ", ".join(f"{short_name(str(r.primitive))} {r.median_oi:+.4f} ({r.n_all})" for r in rows.itertuples())
        parts.append(f"{cells_label(str(cell))}, median OI (operations): {medians}")
    return "; ".join(parts)


def _skip_link_text(summary: pd.DataFrame) -> str:
    """'normal cells: median skip OI in0 +0.0021, ...; a residual link in 97% of the archs' from the link summary."""
    parts = []
    for cell, rows in summary.groupby("cell", sort=True):
        by_link = rows.set_index("link")
        medians = ", ".join(f"{link} {by_link.at[link, 'median_oi']:+.4f} (n={by_link.at[link, 'n_skips']})"
                            for link in by_link.index if link not in ("all", "residual"))
        share = float(by_link.at["residual", "share_of_archs"]) if "residual" in by_link.index else 0.0
        parts.append(f"{cells_label(str(cell))}, median skip OI {medians}; a residual link in {share:.1%} of the "
                     "archs")
    return "; ".join(parts)


def _by_link(links: pd.DataFrame) -> pd.DataFrame:
    """The skip rows with ``primitive`` set to their link, and once more as ``all``, for the OI box plot."""
    import pandas as pd

    return pd.concat([links.assign(primitive=links["link"]), links.assign(primitive="all")], ignore_index=True)
