"""The HTML report is one self-contained file: sections, settings, tables and inlined figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

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
