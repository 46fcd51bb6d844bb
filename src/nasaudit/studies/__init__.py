"""Studies: the unit of work. One module per kind, each a pydantic spec plus a pure ``run`` registered once.

``study_entry("importance")`` gives a kind's spec class and run function; ``study_kinds()`` lists them.
Study modules import their heavy dependencies inside ``run``, so loading the registry (for the spec schema
or ``--help``) stays cheap.
"""

from __future__ import annotations

import importlib

from nasaudit.studies._base import (
    STUDIES,
    Plot,
    Scored,
    SectionRecord,
    StudyContext,
    StudyEntry,
    StudyResult,
    StudySpec,
    Table,
    register_study,
    write_result,
)

#: the modules that register study kinds, in the order the report lists them
_MODULES = ("compare", "importance", "subgraphs", "primskip", "primskip_search", "op_usage", "cell_shape", "surrogate",
            "supernet_ranking", "sharing", "supernet_grid", "fidelity", "reduced_spaces", "bench_build", "pareto",
            "differentiable", "arch_sets", "dynamics", "cell_drawing", "proxies", "predictors", "cell_map")


def load_studies() -> None:
    """Import every study module (each registers its kind once)."""
    for name in _MODULES:
        importlib.import_module(f"nasaudit.studies.{name}")


def study_entry(kind: str) -> StudyEntry:
    """The registered study ``kind`` (unknown kinds raise ConfigError with a suggestion)."""
    load_studies()
    return STUDIES.get(kind)


def study_kinds() -> list[str]:
    """All registered study kinds."""
    load_studies()
    return STUDIES.names()


__all__ = ["STUDIES", "Plot", "Scored", "SectionRecord", "StudyContext", "StudyEntry", "StudyResult", "StudySpec",
           "Table", "load_studies", "register_study", "study_entry", "study_kinds", "write_result"]
