"""Search in reduced NAS-Bench-101 spaces of at most n vertices (search-phase paper Sec. 4.3, Table 6): the size
of each reduced space and every strategy against random search inside it, ranked among the space's cells."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, field_validator

from nasaudit.errors import ConfigError
from nasaudit.studies._base import StudyContext, StudyResult, StudySpec, Table, register_study
from nasaudit.studies._common import DEFAULT_STRATEGIES, known_strategies

if TYPE_CHECKING:
    from pathlib import Path

    from nasaudit.spaces.base import SearchSpace


class ReducedSpacesSpec(StudySpec):
    """For each n in ``vertices``: the cells of ``evaluator``'s NB101 table with at most n vertices, searched by
    ``strategies`` (``seeds`` runs of ``budget`` queries) and scored by the same table."""

    evaluator_fields = ("evaluator",)

    kind: Literal["reduced_spaces"] = "reduced_spaces"
    evaluator: str
    vertices: list[Annotated[int, Field(ge=2, le=7)]] = Field(default_factory=lambda: [4, 5, 6, 7], min_length=1)
    strategies: list[str] = Field(default_factory=lambda: list(DEFAULT_STRATEGIES), min_length=1)
    budget: int = Field(50, gt=0, le=1_000_000)
    seeds: int = Field(10, gt=0, le=100_000)

    def check(self, space: SearchSpace, base_dir: Path) -> list[str]:
        return [] if space.family == "nb101" else [f"reduced spaces are NB101 spaces; the audit's is {space.name!r}"]

    @field_validator("strategies")
    @classmethod
    def _known(cls, names: list[str]) -> list[str]:
        return known_strategies(names)


@register_study("reduced_spaces", ReducedSpacesSpec, "search in reduced NB101 spaces (search-phase Sec. 4.3)")
def run(context: StudyContext, spec: ReducedSpacesSpec) -> StudyResult:
    """Restrict the table to each reduced space, compare the strategies there, rank among its cells."""
    import pandas as pd

    from nasaudit.search.compare import run_comparison, summarise
    from nasaudit.spaces.nb101 import NB101Space

    scored = context.scored(spec.evaluator)
    if scored.benchmark is None or not isinstance(scored.benchmark.space, NB101Space):
        raise ConfigError(f"reduced_spaces needs an NB101 table evaluator; {spec.evaluator!r} is not one")
    full = scored.benchmark
    base = full.space
    assert isinstance(base, NB101Space)
    seeds = list(range(context.seed, context.seed + spec.seeds))
    sizes: list[dict[str, float]] = []
    summaries, notes = [], []
    for n in sorted(set(spec.vertices)):
        space = NB101Space(ops=base.ops, max_vertices=n, max_edges=base.max_edges, name=f"nb101_v{n}")
        inside = sum(space.contains(a) for a in full.archs())
        if inside < space.size:
            sizes.append({"vertices": n, "cells_in_table": inside, "exact_space_size": space.size})
            notes.append(f"The table covers only {inside:,} of the {space.size:,} cells of at most {n} vertices: "
                         "searching that reduced space needs all of them, so it was skipped.")
            continue
        reduced = full.restrict(space)
        truth = reduced.evaluator(scored.column or "", resolve="canonical")
        scores = reduced.scores(scored.column or "")
        budget = min(spec.budget, len(reduced))
        comparison = run_comparison(space, truth, spec.strategies, budget, seeds)
        summaries.append(summarise(comparison, truth, scores).assign(vertices=n, space_size=len(reduced)))
        sizes.append({"vertices": n, "cells_in_table": len(reduced), "exact_space_size": space.size,
                      "best": float(scores.max()), "mean": float(scores.mean())})
    if not summaries:
        raise ConfigError(f"the table of {spec.evaluator!r} holds no cell of at most {max(spec.vertices)} vertices")
    summary = pd.concat(summaries, ignore_index=True)
    return StudyResult(
        title=f"Reduced NB101 spaces ({spec.evaluator})",
        summary=(f"For n = {', '.join(map(str, sorted(set(spec.vertices))))} vertices: the cells of the table with at "
                 f"most n vertices, searched by {', '.join(spec.strategies)} ({spec.seeds} seeds, {spec.budget} "
                 f"queries or the space size if smaller), scored and ranked by {scored.description}."),
        settings={"evaluator": spec.evaluator, "vertices": ", ".join(map(str, spec.vertices)),
                  "strategies": ", ".join(spec.strategies), "budget": spec.budget,
                  "seeds": f"{seeds[0]}..{seeds[-1]}"},
        notes=notes,
        tables=[Table("sizes.csv", "Size of each reduced space (search-phase paper Table 6: 91 / 2,532 / 64,542 / "
                      "423,624 for n = 4..7)", pd.DataFrame(sizes)),
                Table("summary.csv", "Strategies vs random search in each reduced space", summary)],
    )
