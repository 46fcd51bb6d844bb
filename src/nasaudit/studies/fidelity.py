"""Multi-fidelity correlation: how a cheap evaluator (fewer epochs, the halfway point, a 12-epoch schedule)
ranks like the final one, over everything and within the top-N (single-path paper Sec. 3.1-3.2 measures)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from pydantic import Field

from nasaudit.limits import MAX_SAMPLES
from nasaudit.studies._base import Plot, StudyContext, StudyResult, StudySpec, Table, register_study


class FidelitySpec(StudySpec):
    """Kendall tau and Spearman of each ``low`` evaluator against ``final`` on the architectures of ``final``'s
    table (or the space's population when ``final`` is not a table)."""

    evaluator_fields = ("final",)

    kind: Literal["fidelity"] = "fidelity"
    low: list[str] = Field(min_length=1, max_length=32)
    final: str
    top_ns: list[Annotated[int, Field(ge=1, le=MAX_SAMPLES)]] = Field(default_factory=lambda: [5, 10, 20, 50, 100],
                                                               min_length=1, max_length=100)

    def evaluator_refs(self) -> list[str]:
        return [*self.low, self.final]


@register_study("fidelity", FidelitySpec, "multi-fidelity rank correlation (single-path paper Sec. 3)")
def run(context: StudyContext, spec: FidelitySpec) -> StudyResult:
    """Score one architecture set with every fidelity; correlate each low fidelity with the final one."""
    import pandas as pd

    from nasaudit.analysis.fidelity import fidelity_correlation
    from nasaudit.report.figures_supernet import plot_fidelity

    final = context.scored(spec.final)
    archs = final.benchmark.archs() if final.benchmark is not None else context.population(spec.final)[0]
    frame = pd.DataFrame({name: context.scored(name).evaluator.evaluate(archs) for name in [*spec.low, spec.final]})
    table = fidelity_correlation(frame, spec.low, spec.final, spec.top_ns)
    return StudyResult(
        title=f"Multi-fidelity rank correlation (final: {spec.final})",
        summary=(f"Kendall tau and Spearman of {', '.join(spec.low)} against {spec.final} ({final.description}) "
                 f"on {len(archs)} architectures, over all of them and within the top-N by the final score."),
        settings={"low": ", ".join(spec.low), "final": spec.final, "architectures": len(archs),
                  "top_ns": ", ".join(map(str, spec.top_ns))},
        tables=[Table("fidelity.csv", "Rank correlation of each low fidelity with the final one", table)],
        plots=[Plot("fidelity.png", "Kendall tau over all and within the top-N", partial(plot_fidelity, table))],
    )
