"""Width and depth of cells (architectures paper Sec. 3.2) and of their random variants (App. A.2); the
minimal PrimSkip edit of cells (redundancy paper Table 2a)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study

if TYPE_CHECKING:
    from nasaudit.spaces.darts import DartsGenotype


class _Genotypes(StudySpec):
    """DARTS genotype strings, plus the published cells shipped here (``published``; the default when no
    genotype is given)."""

    archs: list[str] = Field(default_factory=list, max_length=10_000)
    published: bool = False

    @field_validator("archs")
    @classmethod
    def _parse(cls, archs: list[str]) -> list[str]:
        from nasaudit.spaces import DartsSpace

        darts = DartsSpace()
        for text in archs:
            darts.parse(text)  # ArchitectureError (a ValueError) names the problem
        return archs

    def genotypes(self) -> dict[str, DartsGenotype]:
        """The named genotypes this study measures."""
        from nasaudit.analysis.published import published_genotype, published_names
        from nasaudit.spaces import DartsSpace

        darts = DartsSpace()
        named: dict[str, Any] = {f"arch_{i + 1}": darts.parse(a) for i, a in enumerate(self.archs)}
        if self.published or not named:
            named.update({name: published_genotype(name) for name in published_names()})
        return named


class CellShapeSpec(_Genotypes):
    """Width and depth of one cell type of each genotype, and of ``variants`` random variants of each."""

    kind: Literal["cell_shape"] = "cell_shape"
    cell: Literal["normal", "reduce"] = "normal"
    variants: int = Field(0, ge=0, le=10_000)
    variant_kind: Literal["connection", "operation"] = "connection"


class PrimSkipEditSpec(_Genotypes):
    """The minimal edit making each genotype PrimSkip-compliant, with its edit distance."""

    kind: Literal["primskip_edit"] = "primskip_edit"


@register_study("cell_shape", CellShapeSpec, "width and depth of cells and random variants (architectures Sec. 3.2)")
def run(context: StudyContext, spec: CellShapeSpec) -> StudyResult:
    """Width and depth of each cell next to the values the paper reports; variants drawn per base cell."""
    import pandas as pd

    from nasaudit.analysis.cell_shape import random_connection_variants, random_operation_variants, shape_table
    from nasaudit.analysis.published import REPORTED_SHAPES
    from nasaudit.report.figures_analysis import plot_cell_shapes

    named = spec.genotypes()
    shapes = shape_table(named, spec.cell)
    shapes["reported"] = [f"{REPORTED_SHAPES[n][0]:g}c, {REPORTED_SHAPES[n][1]}"
                          if n in REPORTED_SHAPES and spec.cell == "normal" else "" for n in shapes["name"]]
    result = StudyResult(
        title=f"Cell width and depth ({spec.cell} cells)",
        summary=("Width (in units of c, the channels of one intermediate node) and depth of the cells, next to the "
                 "values the architectures paper reports where it reports them."),
        settings={"seed": context.seed, "cells": len(named), "cell": spec.cell, "variants": spec.variants,
                  "variant_kind": spec.variant_kind},
        tables=[Table("cell_shape.csv", "Width and depth of each cell", shapes)],
        plots=[Plot("cell_shape.png", "Width vs depth", partial(plot_cell_shapes, shapes))],
    )
    if spec.variants:
        draw = random_connection_variants if spec.variant_kind == "connection" else random_operation_variants
        frames = []
        for name, genotype in named.items():
            base = genotype.cell(spec.cell)
            drawn = draw(base, spec.variants, context.seed)
            frames.append(shape_table({name: base, **{f"{name}/C{i + 1}": v for i, v in enumerate(drawn)}})
                          .assign(base=name))
        variants = pd.concat(frames, ignore_index=True)
        result.tables.append(Table("cell_variants.csv", f"Random {spec.variant_kind} variants of each cell (App. A.2)",
                                   variants, show=False))
        result.plots.append(Plot("cell_variants.png", "Width vs depth of the random variants",
                                 partial(plot_cell_shapes, variants)))
    return result


@register_study("primskip_edit", PrimSkipEditSpec, "minimal PrimSkip edit of cells (redundancy Table 2a)")
def run_edit(context: StudyContext, spec: PrimSkipEditSpec) -> StudyResult:
    """The minimal edit making each genotype PrimSkip-compliant."""
    import pandas as pd

    from nasaudit.analysis.primskip import minimal_primskip_edit

    rows = []
    for name, genotype in spec.genotypes().items():
        edit = minimal_primskip_edit(genotype)
        rows.append({"name": name, "edit_distance": edit.distance, "changes": "; ".join(edit.changes),
                     "original": str(edit.original), "edited": str(edit.edited)})
    return StudyResult(
        title="Minimal PrimSkip edits",
        summary="The fewest operation changes that make each cell PrimSkip-compliant (redundancy paper Table 2a).",
        settings={"cells": len(rows)},
        tables=[Table("primskip_edit.csv", "Edit distance and changes per genotype", pd.DataFrame(rows))],
    )
