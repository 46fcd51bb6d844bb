"""Frequent subgraphs of important operations (redundancy paper Fig. 7, Table 1, App. I; the worst cells App. A,
Fig. 13)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from nasaudit.jobs.job import absent_means
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import DEFAULT_THRESHOLD, DEFAULT_TOP, Tail, top_operation_importance

if TYPE_CHECKING:
    import pandas as pd

#: redundancy paper App. I: subgraphs present in at least 5% of the important subgraphs
DEFAULT_MIN_SUPPORT = 0.05
#: the primitives App. A finds apart: the good subgraphs use the first, the worst ones only the second
SEPARABLE = ("sep_conv_3x3", "sep_conv_5x5")
REDUNDANT = ("dil_conv_3x3", "dil_conv_5x5", "max_pool_3x3", "avg_pool_3x3")
PAPER = {"best": ("Paper (Fig. 7, Table 1, NB301 top 5%): almost all top subgraphs are skip residual links with one "
                  "or more separable convolutions; none contains d3, d5, mp3 or ap3."),
         "worst": ("Paper (App. A, Fig. 13, NB301 worst 5%): the worst cells' subgraphs are much more diverse than "
                   "the good ones and the primitives of the two groups almost never overlap: no worst subgraph "
                   "contains s3 or s5.")}

_SIGN_TEXT = {"any": "|OI| >= threshold", "positive": "OI >= threshold", "negative": "OI <= -threshold"}


class SubgraphsSpec(StudySpec):
    """Connected subgraphs of the important-operation subgraphs of the top cells, ranked by support ratio."""

    evaluator_fields = ("evaluator",)

    kind: Literal["subgraphs"] = "subgraphs"
    evaluator: str
    top: float = Field(DEFAULT_TOP, gt=0, le=1, description="Fraction of architectures analysed, at the chosen tail.")
    min_support: float = Field(DEFAULT_MIN_SUPPORT, gt=0, le=1)
    threshold: float = Field(DEFAULT_THRESHOLD, ge=0, le=1)
    tail: Tail = Field("best", json_schema_extra=absent_means("best"),
                       description="best: the top fraction (Fig. 7); worst: the bottom fraction (App. A, Fig. 13).")
    sign: Literal["any", "positive", "negative"] = Field(
        "any", json_schema_extra=absent_means("any"),
        description="Important operations mined: any sign of OI, or only positive or negative ones (App. A).")


@register_study("subgraphs", SubgraphsSpec, "frequent subgraphs of important operations (redundancy Sec. 3)")
def run(context: StudyContext, spec: SubgraphsSpec) -> StudyResult:
    """Mine frequent subgraphs of the important operations, ratio against random same-size subgraphs."""
    from nasaudit.analysis.subgraphs import important_subgraphs, mine_frequent_subgraphs
    from nasaudit.report.figures_analysis import plot_subgraphs

    oi = top_operation_importance(context, spec.evaluator, spec.top, spec.threshold, spec.tail)
    important, full = important_subgraphs(context.space, oi, sign=spec.sign)
    mined = mine_frequent_subgraphs(important, full, min_support=spec.min_support, seed=context.seed)
    which = "top" if spec.tail == "best" else "worst"
    result = StudyResult(
        title=(f"Frequent subgraphs of important operations ({spec.evaluator}"
               f"{'' if spec.tail == 'best' else ', worst architectures'})"),
        summary=(f"Connected subgraphs of the important-operation subgraphs ({_SIGN_TEXT[spec.sign]}) of "
                 f"{len(important)} {which} cells with support >= {spec.min_support}, ranked by the ratio of their "
                 "support to that among random same-size subgraphs."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "top": spec.top,
                  "min_support": spec.min_support, "threshold": spec.threshold, "tail": spec.tail,
                  "sign": spec.sign},
        tables=[Table("subgraphs.csv", "Frequent subgraphs, best ratio first", mined)],
        notes=[PAPER[spec.tail], f"Ours: {_primitives_text(mined)}."],
    )
    if "normal" in set(oi["cell"]):
        result.notes.append("Normal cells only, as the authors' release mines them (mine_motifs.py --normal_only).")
    if len(mined):
        result.plots.append(Plot("subgraphs.png", "Top subgraphs with support and ratio",
                                 partial(plot_subgraphs, mined)))
    return result


def _primitives_text(mined: pd.DataFrame) -> str:
    """How many mined patterns use separable convolutions, and how many d3/d5/mp3/ap3 (App. A's comparison)."""
    from nasaudit.analysis.subgraphs import pattern_primitives
    from nasaudit.report.figures_analysis import short_name

    used = [pattern_primitives(pattern) for pattern in mined["pattern"]]
    every = sorted(set().union(*used), key=short_name)
    with_separable = sum(bool(ops & set(SEPARABLE)) for ops in used)
    with_redundant = sum(bool(ops & set(REDUNDANT)) for ops in used)
    return (f"{len(used)} frequent subgraphs using {', '.join(short_name(op) for op in every) or 'no primitive'}; "
            f"{with_separable} contain s3 or s5, {with_redundant} contain d3, d5, mp3 or ap3")
