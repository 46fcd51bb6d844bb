"""Pictures of cells (NB201, DARTS, NB101), optionally coloured by operation importance (redundancy paper
Fig. 9 and App. E Figs. 17-24; architectures paper Fig. 2)."""

from __future__ import annotations

from functools import partial
from typing import Literal

from pydantic import Field, field_validator, model_validator

from nasaudit.errors import ConfigError
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study


class CellDrawingSpec(StudySpec):
    """Draw ``archs`` (strings of the audit's space) and the ``published`` DARTS genotypes named (``all``: every
    one shipped). With ``evaluator`` (OI computed from its scores, redundancy eq. 1) or ``importance`` (an
    operation-importance CSV with rows for the archs) each operation is coloured by its OI."""

    evaluator_fields = ("evaluator",)
    file_fields = ("importance",)

    kind: Literal["cell_drawing"] = "cell_drawing"
    archs: list[str] = Field(default_factory=list, max_length=200)
    published: list[str] = Field(default_factory=list, max_length=200)
    evaluator: str | None = None
    importance: str | None = None
    cell_types: list[Literal["normal", "reduce"]] | None = Field(None, min_length=1)
    short_names: bool = False

    @field_validator("published")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        from nasaudit.analysis.published import published_names

        known = published_names()
        if names == ["all"]:
            return known
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"no published genotype(s) {unknown}; known: {known} (or [all])")
        return names

    @model_validator(mode="after")
    def _something(self) -> CellDrawingSpec:
        if not self.archs and not self.published:
            raise ValueError("give architectures (archs) or published genotypes (published) to draw")
        if self.evaluator is not None and self.importance is not None:
            raise ValueError("colour by an evaluator or by an importance CSV, not both")
        return self


@register_study("cell_drawing", CellDrawingSpec, "pictures of cells, coloured by operation importance "
                                                 "(redundancy Fig. 9)")
def run(context: StudyContext, spec: CellDrawingSpec) -> StudyResult:
    """One figure per cell; with scores, a shared colour bar per figure and the most important operation listed."""
    from typing import Any

    import pandas as pd

    from nasaudit.analysis.importance import operation_importance
    from nasaudit.analysis.published import published_genotype
    from nasaudit.report.cell_drawing import oi_scores, plot_cell
    from nasaudit.truth.tabular import read_frame

    named: dict[str, Any] = {f"arch{i + 1}": context.space.parse(text) for i, text in enumerate(spec.archs)}
    named.update({name: published_genotype(name) for name in spec.published})
    oi: pd.DataFrame | None = None
    if spec.importance is not None:
        oi = read_frame(context.resolve(spec.importance), "operation-importance table")
    elif spec.evaluator is not None:
        if spec.published and context.space.family != "darts":
            raise ConfigError(f"published cells are DARTS cells; colouring them needs a DARTS space, not "
                              f"{context.space.name!r}")
        scored = context.scored(spec.evaluator)
        oi = operation_importance(scored.evaluator, list(named.values()), units=scored.units)
    rows, plots = [], []
    for name, arch in named.items():
        scores = oi_scores(oi, arch, context.space) if oi is not None else None
        row: dict[str, Any] = {"name": name, "arch": str(arch)}
        if scores:
            position, value = max(scores.items(), key=lambda item: abs(item[1]))
            row.update(scored_operations=len(scores), largest_oi_position=str(position), largest_oi=value)
        rows.append(row)
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        plots.append(Plot(f"cell_{slug}.png", f"{name}" + (" coloured by operation importance" if scores else ""),
                          partial(plot_cell, arch, cell_types=spec.cell_types, scores=scores or None,
                                  short_names=spec.short_names, title=name)))
    source = (f"OI from evaluator {spec.evaluator!r}" if spec.evaluator else
              f"OI from {spec.importance}" if spec.importance else "no colouring")
    return StudyResult(
        title="Cell drawings",
        summary=(f"{len(named)} cell(s) drawn: nodes, the operation on each edge (NB201, DARTS) or node (NB101); "
                 f"{source} (redundancy paper Fig. 9: OI of each operation, red important, blue harmful)."),
        settings={"space": context.space.name, "cells": len(named), "colouring": source},
        tables=[Table("cells.csv", "Cells drawn", pd.DataFrame(rows))],
        plots=plots,
    )
