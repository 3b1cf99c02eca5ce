"""``probe report``: run directories in, a report directory out.

Report directory::

    index.html           self-contained page (figures embedded; opens offline)
    report.md            headline table, findings, figure links and every table in Markdown
    figures/<name>.{pdf,svg,png}          full page width (6.9 in)
    figures-column/<name>.{pdf,svg,png}   one column of a two-column paper (3.3 in)
    tables/<name>.{md,tex}, <name>-full.tex (table*), tables.md, tables.tex (a document that compiles with pdflatex)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nerprobe.provenance import utc_now
from nerprobe.reports import compare_report
from nerprobe.reports.figures import Figure, Skipped, build_figures
from nerprobe.reports.findings import findings as make_findings
from nerprobe.reports.findings import headline_table
from nerprobe.reports.html import render_html, write_html
from nerprobe.reports.runs import Run, load_runs
from nerprobe.reports.shapes import check_run_shapes
from nerprobe.safe_io import atomic_write_text
from nerprobe.reports.tables import Table, build_tables, write_tables


@dataclass
class Report:
    """What ``build_report`` wrote."""

    out_dir: Path
    html: Path
    markdown: Path
    runs: list[Run]
    figures: list[Figure]
    skipped: list[Skipped]
    tables: list[Table]
    findings: list[str]
    headline: Table | None = None

    def as_dict(self) -> dict:
        """What ``probe report --json`` prints: the files written, the runs read, every figure (its files and
        signatures) and what was not drawn, every table (columns and rows as in report.md) and the findings."""

        def table(t: Table) -> dict:
            return {"name": t.name, "title": t.title, "columns": list(t.columns), "rows": [list(r) for r in t.rows],
                    "notes": list(t.notes)}

        return {
            "out_dir": str(self.out_dir), "html": str(self.html), "markdown": str(self.markdown),
            "runs": [{"name": r.name, "kind": r.kind, "path": str(r.path)} for r in self.runs],
            "figures": [{"name": f.name, "caption": f.caption, "files": {k: str(v) for k, v in f.paths.items()},
                         "signatures": list(f.signatures)} for f in self.figures],
            "not_drawn": [{"name": s.name, "reason": s.reason} for s in self.skipped],
            "headline": table(self.headline) if self.headline is not None else None,
            "tables": [table(t) for t in self.tables],
            "findings": list(self.findings),
        }


def _markdown(title: str, note: str, findings: list[str], figures: list[Figure], skipped: list[Skipped],
              tables: list[Table], headline: Table | None = None) -> str:
    """``report.md``: the headline table and the findings, the figures (with captions and what was not drawn), then
    every table."""
    lines = [f"# {title}", ""]
    if note:
        lines += [note, ""]
    lines += ["## Summary of findings", ""]
    if headline is not None:
        lines += [headline.markdown()]
    lines += [f"- {f}" for f in findings] + ["", "## Figures", ""]
    for f in figures:
        lines += [f"![{f.name}](figures/{f.paths['png'].name})", "", f"*{f.name}.* {f.caption}", ""]
    for s in skipped:
        lines.append(f"- not drawn: {s.name} ({s.reason})")
    lines += ["", "## Tables", ""] + [t.markdown() for t in tables]
    return "\n".join(lines) + "\n"


def build_report(run_dirs, out_dir: str | Path, *, title: str = "nerprobe report", note: str = "") -> Report:
    """Load ``run_dirs`` (``runs.load_runs``) and write figures, tables, ``report.md`` and ``index.html``."""
    runs = load_runs(run_dirs)
    check_run_shapes(runs)  # one line naming the run, not a pandas traceback
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from nerprobe.reports.likelihood_figures import report_builders

    figures, skipped = build_figures(runs, out / "figures", extra={"compare-f1": compare_report.fig_compare,
                                                                   **report_builders()})
    tables = build_tables(runs) + [t for t in (compare_report.compare_f1_table(runs),
                                               compare_report.compare_tests_table(runs)) if t is not None and t.rows]
    headline = headline_table(runs)
    write_tables(([headline] if headline is not None else []) + tables, out / "tables")
    found = make_findings(runs)  # every kind of run, the largest effects first
    md = out / "report.md"
    atomic_write_text(md, _markdown(title, note, found, figures, skipped, tables, headline))
    html = write_html(out / "index.html", render_html(runs, found, figures, skipped, tables, title=title, note=note,
                                                      created=utc_now(), headline=headline))
    return Report(out, html, md, runs, figures, skipped, tables, found, headline)
