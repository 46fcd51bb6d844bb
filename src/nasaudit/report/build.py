"""Build the HTML report of a run from its sections: at the end of a run, or later from its store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from nasaudit.errors import DataError
from nasaudit.report.html import Figure, Section, render_report

if TYPE_CHECKING:
    from nasaudit.report.section import SectionRecord

REPORT_NAME = "report.html"


def write_report(title: str, run_dir: Path, sections: list[SectionRecord]) -> Path:
    """Render ``sections`` (paths relative to ``run_dir``) into ``run_dir/report.html``."""
    rendered = []
    for record in sections:
        tables = [(caption, _read_table(run_dir / path)) for caption, path in record.tables]
        figures = [Figure(run_dir / path, caption) for caption, path in record.figures if (run_dir / path).is_file()]
        rendered.append(Section(record.key, record.title, record.summary, dict(record.settings), tables, figures,
                                list(record.notes), [(d[0], d[1]) for d in record.downloads]))
    return render_report(title, rendered, run_dir / REPORT_NAME)


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
        store_location = path / "results.sqlite"
    else:
        run_dir = run_dir or path.parent
        store_location = path
    if not isinstance(store_location, str) and not Path(store_location).is_file():
        raise DataError(f"no results store at {store_location}; give a run folder or its results.sqlite")
    with ResultStore(store_location) as store:
        rows = store.experiment_results(status="done")
    has_section = [isinstance(m, dict) and "section" in m for m in rows["metrics"]]
    analyses = rows[has_section]
    if analyses.empty:
        raise DataError(f"the store {store_location} holds no finished analyses to report")
    sections = sorted((SectionRecord.from_dict(m["section"], f"a result row of the store {store_location}")
                       for m in analyses["metrics"]), key=lambda s: s.key)
    names = sorted(set(analyses["experiment"]))
    return write_report(", ".join(names), run_dir, sections)


def _read_table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise DataError(f"table {path} of the run is missing; rerun the spec to regenerate it") from None
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(f"table {path} of the run is corrupt ({message}); rerun the spec to regenerate it") from None
