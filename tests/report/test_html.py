"""The HTML report is one self-contained file: sections, settings, tables and inlined figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from nasaudit.errors import DataError
from nasaudit.report.html import Figure, Section, render_report


def test_report_inlines_figures_and_escapes_text(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    png = tmp_path / "line.png"
    fig.savefig(png)
    plt.close(fig)
    table = pd.DataFrame({"strategy": ["random", "<evolution>"], "mean": [93.1, 93.9]})
    section = Section("compare", "Search vs random", "Fair comparison.", settings={"seeds": 100},
                      tables=[("summary", table)], figures=[Figure(png, "best so far")], notes=["test accuracy used"])
    out = render_report("Audit <1>", [section], tmp_path / "report" / "index.html")
    text = out.read_text()
    assert 'id="compare"' in text and "data:image/png;base64," in text
    assert "&lt;evolution&gt;" in text and "Audit &lt;1&gt;" in text
    assert "seeds" in text and "test accuracy used" in text
    assert "http://" not in text and "https://" not in text


def test_wide_tables_scroll_inside_their_box(tmp_path):
    wide = pd.DataFrame({f"column_{i}": [float(i)] for i in range(40)})
    out = render_report("wide", [Section("wide", "Wide", "A wide table.", tables=[("wide", wide)])],
                        tmp_path / "report.html")
    text = out.read_text()
    assert '<div class="table-scroll"><table' in text
    assert ".table-scroll { overflow-x: auto" in text


@pytest.mark.parametrize("href", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>",
                                  "https://evil.example/x.csv", "//evil.example/x", "/etc/passwd", "../x.csv",
                                  "a/../../x.csv", "a\\..\\x.csv", ""])
def test_download_links_are_relative_paths_inside_the_run(href, tmp_path):
    """Issue #22 item 10: a download link is a plain relative path beside the report, never a URL or a path
    that leaves the run folder; such a section is refused before anything is written."""
    section = Section("k", "K", "s", downloads=[("full table", href)])
    with pytest.raises(DataError, match="download link"):
        render_report("r", [section], tmp_path / "report.html")
    assert not (tmp_path / "report.html").exists()
    ok = render_report("r", [Section("k", "K", "s", downloads=[("full table", "00-k/full.csv")])],
                       tmp_path / "report.html")
    assert 'href="00-k/full.csv"' in ok.read_text()


def test_a_figure_given_as_bytes_is_inlined_without_reading_its_path(tmp_path):
    import base64

    data = b"\x89PNG\r\n\x1a\nnot-read-from-disk"
    out = render_report("r", [Section("k", "K", "s", figures=[Figure(tmp_path / "absent.png", "c", data)])],
                        tmp_path / "report.html")
    assert base64.b64encode(data).decode("ascii") in out.read_text()
