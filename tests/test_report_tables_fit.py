"""Every report table fits a two-column paper: each table's column version (``table``) and page-wide version
(``table*``) compiles with pdflatex in a two-column ``article`` without an overfull box, on real run directories
(the figure tests' runs); minus signs are real minus signs and names with diacritics are kept."""

from __future__ import annotations

import re
import subprocess

import pytest

from nerprobe.reports import compare_report, tables
from test_report_checks import need_tool
from test_report_figures import run_dirs, runs  # noqa: F401  (the same real runs, as fixtures)


def _compile(tmp_path, name: str, body: str) -> str:
    """Compile ``body`` in a two-column article with the report's preamble; the log."""
    pdflatex = need_tool("pdflatex", ("pdflatex",))
    tex = tmp_path / f"{name}.tex"
    tex.write_text(tables.LATEX_PREAMBLE + body + "\n\\end{document}\n", encoding="utf-8")
    proc = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", tex.name], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    log = (tmp_path / f"{name}.log").read_text(encoding="utf-8", errors="replace")
    assert proc.returncode == 0, log[-3000:]
    return log


def _all_tables(runs):
    found = tables.build_tables(runs) + [t for t in (compare_report.compare_f1_table(runs),
                                                      compare_report.compare_tests_table(runs)) if t is not None]
    assert {t.name for t in found} >= {"probe-f1", "retention", "compare-f1", "compare-tests"}
    return found


@pytest.mark.parametrize("layout", ["column", "full"])
def test_every_table_fits_its_width(runs, tmp_path, layout):  # noqa: F811
    overfull = {}
    for t in _all_tables(runs):
        log = _compile(tmp_path, f"{t.name}-{layout}", t.latex(layout))
        boxes = re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)
        if boxes:
            overfull[t.name] = boxes
    assert overfull == {}


def test_wide_table_is_split_and_repeats_its_row_key():
    t = tables.Table("wide", "A wide table", ["task", "metric"] + [f"column number {i}" for i in range(12)],
                     [["mmlu", "acc"] + [f"{i}.5 [-{i}.1, +{i}.9]" for i in range(12)],
                      ["mmlu", "f1"] + [f"{i}.5 [-{i}.1, +{i}.9]" for i in range(12)]])
    tex = t.latex("column")
    assert tex.count("\\begin{tabular}{") >= 3 and "In " in tex and "parts" in tex
    # the first column alone does not tell the rows apart: both key columns are repeated in every part
    parts = re.findall(r"\\begin\{tabular\}\{([lrc]+)\}", tex)
    assert all(p.startswith("ll") for p in parts)


def test_minus_signs_and_names_with_diacritics(tmp_path):
    t = tables.Table("names", "Zürich, São Paulo, Łódź, Dvořák", ["name", "Δ", "p"],
                     [["Zürich", "-7.7 [-8.9, -6.6]", "1.3e-37"], ["Ελλάδα 東京", "+0.0 [+0.0, +0.0]", "0.5"]])
    tex = t.latex("column")
    assert "Zürich" in tex and "Łódź" in tex and "Dvořák" in tex and "?" not in tex
    assert "$-$7.7" in tex and "$1.3\\times10^{-37}$" in tex and "-7.7" not in tex.replace("$-$7.7", "")
    assert "$\\Epsilon$" not in tex and "[U+6771]" in tex  # no glyph in pdflatex: named, not dropped
    log = _compile(tmp_path, "names", tex + t.latex("full"))
    assert "Overfull \\hbox" not in log
