"""Build the HTML report of a run from its sections: at the end of a run, or later from its store."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from nasaudit._atomic import inside, read_inside, relative_parts
from nasaudit.errors import DataError
from nasaudit.report.html import Figure, Section, render_report
from nasaudit.report.section import RUN_MARKER, is_run_folder

if TYPE_CHECKING:
    from nasaudit.report.section import SectionRecord

REPORT_NAME = "report.html"
#: the results store of a run folder, unless the spec names another
STORE_NAME = "results.sqlite"


def write_report(title: str, run_dir: Path, sections: list[SectionRecord]) -> Path:
    """Render ``sections`` (paths relative to ``run_dir``) into ``run_dir/report.html``.

    Every table and figure is read inside ``run_dir`` without following a symbolic link, and every link of the
    report is a plain relative path inside it (``SectionRecord.from_dict`` and ``relative_parts`` refuse the rest),
    so a tampered section cannot embed a file from elsewhere; a ``report.html`` that is a link is refused."""
    rendered = []
    for record in sections:
        tables = [(caption, _read_table(run_dir, path)) for caption, path in record.tables]
        figures = []
        for caption, path in record.figures:
            data = read_inside(run_dir, path, "figure", missing_ok=True)
            if data is not None:
                figures.append(Figure(run_dir / path, caption, data))
        for _, path in record.downloads:
            relative_parts(path, "download link")
        rendered.append(Section(record.key, record.title, record.summary, dict(record.settings), tables, figures,
                                list(record.notes), [(d[0], d[1]) for d in record.downloads]))
    return render_report(title, rendered, inside(run_dir, REPORT_NAME, "report"))


def report_from_store(location: str | Path, run_dir: Path | None = None) -> Path:
    """Regenerate the report of a run from its results store (a run folder, a SQLite file or a URL)."""
    from nasaudit.jobs.store import ResultStore
    from nasaudit.report.section import SectionRecord

    text = str(location)
    path = Path(text)
    if "://" in text:
        if run_dir is None:
            raise DataError("a report from a database URL needs the run folder holding its tables and figures")
        store_location: str | Path = text
    elif path.is_dir():
        run_dir = run_dir or path
        store_location = run_store_path(path)
    else:
        run_dir = run_dir or path.parent
        store_location = path
    if not isinstance(store_location, str) and not Path(store_location).is_file():
        raise DataError(f"no results store at {store_location}; give a run folder or its results.sqlite")
    with ResultStore(store_location) as store:  # first: a foreign database is refused before anything else
        if not run_dir.is_dir():
            raise DataError(f"run folder {run_dir} is not a folder")
        inside(run_dir, RUN_MARKER, "run marker")
        if not is_run_folder(run_dir):
            raise DataError(f"{run_dir} is not a nasaudit run folder (no {RUN_MARKER} or spec.json of a run); "
                            "the report is written only into a run folder")
        rows = store.experiment_results(status="done")
    has_section = [isinstance(m, dict) and "section" in m for m in rows["metrics"]]
    analyses = rows[has_section]
    if analyses.empty:
        raise DataError(f"the store {store_location} holds no finished analyses to report")
    sections = sorted((SectionRecord.from_dict(m["section"], f"a result row of the store {store_location}")
                       for m in analyses["metrics"]), key=lambda s: s.key)
    names = sorted(set(analyses["experiment"]))
    return write_report(", ".join(names), run_dir, sections)


def run_store_path(run_dir: Path) -> Path:
    """The default results store of ``run_dir``, refused when it or its SQLite side files are symbolic links
    (SQLite would write through them, outside the run folder)."""
    for suffix in ("-wal", "-shm", "-journal"):
        inside(run_dir, STORE_NAME + suffix, "results store file")
    return inside(run_dir, STORE_NAME, "results store")


def _read_table(run_dir: Path, relative: str) -> pd.DataFrame:
    path = run_dir / relative
    data = read_inside(run_dir, relative, "table", missing_ok=True)
    if data is None:
        raise DataError(f"table {path} of the run is missing; rerun the spec to regenerate it")
    try:
        return pd.read_csv(io.BytesIO(data))
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"table {path} of the run is corrupt ({message}); rerun the spec to regenerate it") from None
