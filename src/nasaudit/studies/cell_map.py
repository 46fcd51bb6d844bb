"""A t-SNE map of sampled cells coloured by accuracy (redundancy paper Sec. 3, Fig. 2)."""

from __future__ import annotations

from functools import partial
from typing import Literal

from pydantic import Field

from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import DEFAULT_TOP, cells_label

#: what Fig. 2 shows, beside ours
PAPER = ("Paper (Sec. 3, Fig. 2, NB301): the top 5% architectures are well spread out over the DARTS space and "
         "seemingly diverse; Sec. 4 then finds that their functional parts share one simple pattern.")


class CellMapSpec(StudySpec):
    """``samples`` seeded architectures scored by ``evaluator``, encoded and mapped to 2-D by t-SNE."""

    evaluator_fields = ("evaluator",)

    kind: Literal["cell_map"] = "cell_map"
    evaluator: str
    samples: int = Field(1000, ge=10, le=20_000, description="Seeded architectures sampled (duplicates dropped).")
    encoding: Literal["onehot", "adjacency", "path"] = Field(
        "onehot", description="Encoding of each cell (path: single-cell spaces such as NB201 only).")
    perplexity: float = Field(30.0, gt=0, le=100, description="t-SNE perplexity (below the number of samples).")
    top: float = Field(DEFAULT_TOP, gt=0, le=1, description="Fraction of the sampled architectures ringed as the top.")


@register_study("cell_map", CellMapSpec, "t-SNE map of cells coloured by accuracy (redundancy Fig. 2)")
def run(context: StudyContext, spec: CellMapSpec) -> StudyResult:
    """Sample, score, encode (normal and reduce cells apart on DARTS), map with t-SNE; the top cells' spread."""
    import numpy as np

    from nasaudit.analysis.cell_map import cell_map, spread
    from nasaudit.analysis.ranking import top_fraction
    from nasaudit.report.figures_cell_map import plot_cell_map
    from nasaudit.spaces.encodings import get_encoding

    archs = list(dict.fromkeys(context.space.sample_many(spec.samples, context.seed)))
    scored = context.scored(spec.evaluator)
    scores = np.asarray(scored.evaluator.evaluate(archs), dtype=np.float64)
    best = {str(arch) for arch in top_fraction(archs, scores, spec.top)[0]}
    top = np.array([str(arch) in best for arch in archs])
    encoding = get_encoding(spec.encoding, context.space)
    points = cell_map(encoding, archs, scores, top, context.seed, spec.perplexity)
    spreads = spread(encoding, archs, top)
    ours = "; ".join(f"{cells_label(str(row.cell))}: mean encoding distance among the top {row.n_top} = "
                     f"{row.ratio:.2f} x that among all" for row in spreads.itertuples())
    return StudyResult(
        title=f"Map of the cells ({spec.evaluator})",
        summary=(f"{len(archs)} seeded architectures scored by {scored.description}, {spec.encoding}-encoded and "
                 f"mapped to 2-D by t-SNE (perplexity {spec.perplexity:g}); the top {spec.top:.0%} are ringed."),
        settings={"seed": context.seed, "evaluator": spec.evaluator, "samples": spec.samples,
                  "architectures": len(archs), "encoding": spec.encoding, "perplexity": spec.perplexity,
                  "top": spec.top},
        notes=[PAPER, f"Ours: {ours} (1: the top cells spread as widely as the sample)."],
        tables=[Table("spread.csv", "Mean pairwise encoding distance: top vs all cells", spreads),
                Table("cell_map.csv", "2-D t-SNE coordinates of every sampled cell", points, show=False)],
        plots=[Plot("cell_map.png", "t-SNE of the cells coloured by score",
                    partial(plot_cell_map, points, score_label=f"{spec.evaluator} score"))],
    )
