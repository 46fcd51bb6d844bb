"""A report section as written to a run folder: paths relative to the run folder, stored as ``section.json``
and in the results store, so a report can be rebuilt from the store alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SectionRecord:
    """A written result with paths relative to the run folder (stored as ``section.json`` and in the store)."""

    key: str
    title: str
    summary: str
    settings: dict[str, Any]
    tables: list[tuple[str, str]] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    downloads: list[tuple[str, str]] = field(default_factory=list)
