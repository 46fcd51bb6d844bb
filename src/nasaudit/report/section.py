"""A report section as written to a run folder: paths relative to the run folder, stored as ``section.json``
and in the results store, so a report can be rebuilt from the store alone."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasaudit._atomic import read_inside, relative_parts
from nasaudit.errors import DataError

#: a file every run folder holds from its first run on: a non-empty folder without it is not nasaudit's to write
RUN_MARKER = ".nasaudit-run"
#: what the marker says (no clock time, so two runs of one spec stay byte-identical)
RUN_MARKER_TEXT = "This folder is a nasaudit run folder: `nasaudit run` may rewrite the files in it.\n"
#: each study's record in its folder
SECTION_FILE = "section.json"
#: a study's folder: its index and kind (``00-compare``)
_PLAIN_KEY = re.compile(r"[0-9]{2,}-\w+")


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
        if not _PLAIN_KEY.fullmatch(data["key"]):
            raise bad(f"key {data['key'][:40]!r} is not a study folder name like 00-compare")
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
            for _, path in pairs[name]:  # only plain paths inside the run folder: no /etc/passwd, ../, javascript:
                try:
                    relative_parts(path, f"a {name[:-1]} path")
                except DataError as err:
                    raise bad(str(err)) from None
        notes = data.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(note, str) for note in notes):
            raise bad("notes is not a list of text")
        return cls(key=data["key"], title=data["title"], summary=data["summary"], settings=dict(data["settings"]),
                   notes=list(notes), **pairs)


def read_section(run_dir: Path, key: str) -> SectionRecord:
    """The ``section.json`` of study ``key`` in ``run_dir``, read without following a symbolic link; a link, a
    damaged or a tampered file is one ``DataError`` naming it."""
    import json

    where = run_dir / key / SECTION_FILE
    try:
        data = json.loads((read_inside(run_dir, f"{key}/{SECTION_FILE}", "section record") or b"").decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise DataError(f"{where} is not a readable section record ({type(err).__name__}); delete it to run the "
                        "study again") from None
    return SectionRecord.from_dict(data, str(where))


def is_run_folder(folder: Path) -> bool:
    """Whether ``folder`` is a nasaudit run folder: it holds the ``RUN_MARKER`` file (written when the run began),
    or (a run of an earlier version) a ``spec.json`` holding an audit spec. Links do not count."""
    import json

    try:
        if read_inside(folder, RUN_MARKER, "run marker", missing_ok=True) is not None:
            return True
        spec = read_inside(folder, "spec.json", "spec", missing_ok=True, max_bytes=2**24)
        data = json.loads(spec.decode("utf-8")) if spec is not None else None
    except (DataError, UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and {"name", "output", "analyses"} <= set(data)
