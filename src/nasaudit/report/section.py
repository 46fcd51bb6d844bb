"""A report section as written to a run folder: paths relative to the run folder, stored as ``section.json``
and in the results store, so a report can be rebuilt from the store alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
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

    @classmethod
    def from_dict(cls, data: Any, source: str) -> SectionRecord:
        """A record read back from ``source`` (a ``section.json`` or a store row). Anything but the shape
        ``write_result`` writes (a tampered or damaged file or row) is one ``DataError`` naming ``source``."""
        from nasaudit.errors import DataError

        def bad(what: str) -> DataError:
            return DataError(f"{source} is not a section record written by nasaudit ({what}); it was edited or "
                             "damaged: delete it to run the study again")

        if not isinstance(data, dict):
            raise bad(f"a {type(data).__name__}, not an object")
        unknown = sorted(str(k) for k in set(data) - set(cls.__dataclass_fields__))
        missing = sorted({"key", "title", "summary", "settings"} - set(data))
        if unknown or missing:
            raise bad(f"unknown keys {unknown[:5]}" if unknown else f"missing keys {missing}")
        for name in ("key", "title", "summary"):
            if not isinstance(data[name], str):
                raise bad(f"{name} is a {type(data[name]).__name__}, not text")
        if not isinstance(data["settings"], dict):
            raise bad("settings is not an object")
        pairs = {}
        for name in ("tables", "figures", "downloads"):
            value = data.get(name, [])
            if not isinstance(value, list) or not all(
                    isinstance(item, (list, tuple)) and len(item) == 2 and all(isinstance(x, str) for x in item)
                    for item in value):
                raise bad(f"{name} is not a list of (caption, path) pairs")
            pairs[name] = [(str(caption), str(path)) for caption, path in value]
        notes = data.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
            raise bad("notes is not a list of text")
        return cls(key=data["key"], title=data["title"], summary=data["summary"], settings=dict(data["settings"]),
                   notes=list(notes), **pairs)


def read_section(path: Path) -> SectionRecord:
    """The ``section.json`` at ``path``; a damaged or tampered file is one ``DataError`` naming it."""
    import json

    from nasaudit.errors import DataError

    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise DataError(f"{path} is not a readable section record ({type(err).__name__}); delete it to run the "
                        "study again") from None
    return SectionRecord.from_dict(data, str(path))
