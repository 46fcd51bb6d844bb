"""A self-contained HTML report: figures embedded as base64 PNG, tables inline, no network to view it."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nasaudit import __version__
from nasaudit._atomic import atomic_write, relative_parts

_STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 0 auto; max-width: 1100px;
       padding: 1.5rem; color: #1d2330; line-height: 1.45; }
h1 { margin-bottom: .2rem; } h2 { border-bottom: 2px solid #e3e7ef; padding-bottom: .25rem; margin-top: 2.5rem; }
.meta { color: #5b6475; font-size: .9rem; }
nav ol { columns: 2; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; font-size: .9rem;
              background: #f5f7fb; padding: .6rem .9rem; border-radius: 6px; }
dl.settings dt { font-weight: 600; } dl.settings dd { margin: 0; font-family: ui-monospace, monospace; }
.table-scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: .85rem; margin: .8rem 0; }
th, td { border: 1px solid #d5dae4; padding: .25rem .5rem; text-align: right; }
th { background: #eef1f7; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #e3e7ef; }
figcaption { font-size: .85rem; color: #5b6475; }
.note { background: #fff8e6; border-left: 4px solid #f0b429; padding: .4rem .8rem; font-size: .9rem; }
"""


#: after load, marks each figure as decoded or not (lets a headless browser check that figures render)
_MARK_RENDERED = (
    "window.addEventListener('load',function(){var imgs=document.querySelectorAll('figure img'),ok=0;"
    "imgs.forEach(function(i){var r=i.complete&&i.naturalWidth>0;i.dataset.rendered=r?'yes':'no';if(r)ok++;});"
    "document.body.dataset.figures=imgs.length;document.body.dataset.figuresRendered=ok;});"
)


@dataclass
class Figure:
    """A PNG figure with a caption."""

    path: Path
    caption: str
    #: the PNG's bytes when already read (the report reads a run's figures without following links)
    data: bytes | None = None


@dataclass
class Section:
    """One analysis in the report: what data and settings produced it, then its tables and figures."""

    key: str
    title: str
    summary: str
    settings: dict[str, object] = field(default_factory=dict)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    downloads: list[tuple[str, str]] = field(default_factory=list)


def render_report(title: str, sections: list[Section], out_path: Path, max_table_rows: int = 40) -> Path:
    """Write the report to ``out_path`` (one HTML file, images inlined) and return the path; byte-identical for
    the same sections."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">nasaudit {__version__} · {len(sections)} sections (the report carries no clock time, '
        "so the same run gives the same bytes)</p>",
        "<nav><h3>Sections</h3><ol>",
        *(f'<li><a href="#{html.escape(s.key)}">{html.escape(s.title)}</a></li>' for s in sections),
        "</ol></nav>",
    ]
    for section in sections:
        parts.append(_render_section(section, max_table_rows))
    parts.append(f"<script>{_MARK_RENDERED}</script></body></html>")
    atomic_write(out_path, "\n".join(parts))
    return out_path


def _render_section(section: Section, max_table_rows: int) -> str:
    parts = [f'<section id="{html.escape(section.key)}" class="analysis">',
             f"<h2>{html.escape(section.title)}</h2>", f"<p>{html.escape(section.summary)}</p>"]
    if section.settings:
        parts.append('<dl class="settings">')
        for key, value in section.settings.items():
            parts.append(f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(str(value))}</dd>")
        parts.append("</dl>")
    parts.extend(f'<p class="note">{html.escape(note)}</p>' for note in section.notes)
    for caption, table in section.tables:
        shown = table.head(max_table_rows)
        more = ""
        if len(table) > len(shown):
            more = f" (first {max_table_rows} of {len(table)} rows; full table in the CSV)"
        parts.append(f"<h4>{html.escape(caption)}{html.escape(more)}</h4>")
        parts.append('<div class="table-scroll">'
                     + shown.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0, escape=True, na_rep="")
                     + "</div>")
    if section.downloads:
        for _, path in section.downloads:  # only relative links to files beside the report, never javascript:
            relative_parts(path, "download link")
        links = "".join(f'<li><a href="{html.escape(path)}">{html.escape(caption)}</a> ({html.escape(path)})</li>'
                        for caption, path in section.downloads)
        parts.append(f'<p class="downloads">Full tables (CSV beside this report):</p><ul>{links}</ul>')
    for figure in section.figures:
        png = figure.data if figure.data is not None else Path(figure.path).read_bytes()
        data = base64.b64encode(png).decode("ascii")
        parts.append(
            f'<figure><img alt="{html.escape(figure.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(figure.caption)}</figcaption></figure>"
        )
    parts.append("</section>")
    return "\n".join(parts)
