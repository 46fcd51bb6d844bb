"""Width and depth of cells (architectures paper Sec. 3.2)."""

from __future__ import annotations

from functools import partial
from typing import Literal

from pydantic import Field, field_validator

from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study


class CellShapeSpec(StudySpec):
    """Width and depth of the normal cells of ``archs`` (DARTS genotypes); empty = the published cells."""

    kind: Literal["cell_shape"] = "cell_shape"
    archs: list[str] = Field(default_factory=list, max_length=10_000)

    @field_validator("archs")
    @classmethod
    def _parse(cls, archs: list[str]) -> list[str]:
        from nasaudit.spaces import DartsSpace

        darts = DartsSpace()
        for text in archs:
            darts.parse(text)  # ArchitectureError (a ValueError) names the problem
        return archs


@register_study("cell_shape", CellShapeSpec, "width and depth of cells (architectures paper Sec. 3.2)")
def run(context: StudyContext, spec: CellShapeSpec) -> StudyResult:
    """Width and depth of each normal cell next to the values the paper reports."""
    from nasaudit.analysis.cell_shape import shape_table
    from nasaudit.analysis.published import REPORTED_SHAPES, published_genotype, published_names
    from nasaudit.report.figures_analysis import plot_cell_shapes
    from nasaudit.spaces import DartsSpace

    darts = DartsSpace()
    named = {f"arch_{i + 1}": darts.parse(a) for i, a in enumerate(spec.archs)}
    if not named:
        named = {name: published_genotype(name) for name in published_names()}
    shapes = shape_table(named)
    shapes["reported"] = [f"{REPORTED_SHAPES[n][0]:g}c, {REPORTED_SHAPES[n][1]}" if n in REPORTED_SHAPES else ""
                          for n in shapes["name"]]
    return StudyResult(
        title="Cell width and depth",
        summary=("Width (in units of c, the channels of one intermediate node) and depth of the normal cells, "
                 "next to the values the architectures paper reports where it reports them."),
        settings={"cells": len(named)},
        tables=[Table("cell_shape.csv", "Width and depth of each normal cell", shapes)],
        plots=[Plot("cell_shape.png", "Width vs depth", partial(plot_cell_shapes, shapes))],
    )
