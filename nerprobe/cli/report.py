"""``probe report``: paper-style figures, tables and a self-contained HTML page from run directories."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from nerprobe.cli.common import console, one_line_errors, warn


@one_line_errors
def report(
    run_dirs: List[Path] = typer.Argument(..., help="run directories of probe memorization/retention (or folders "
                                                    "holding them); runs from several machines combine"),
    out: Path = typer.Option(Path("report"), "--out", help="report directory to write"),
    title: str = typer.Option("nerprobe report", "--title", help="title of the HTML page and report.md"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (the files, runs, figures, tables and "
                                 "findings) instead of the summary."),
) -> None:
    """Build figures (PDF/SVG/PNG), tables (Markdown/LaTeX) and index.html from run directories alone."""
    from nerprobe.reports.build import build_report
    from nerprobe.reports.runs import data_notes
    from nerprobe.safe_io import check_run_dir

    check_run_dir(out, run_dirs, marker="index.html", what="report folder")  # never into a run or a folder of yours
    rep = build_report(run_dirs, out, title=title)
    for note in data_notes(rep.runs):
        warn(note)
    if as_json:
        import json

        typer.echo(json.dumps(rep.as_dict(), ensure_ascii=False, indent=1))
        return
    kinds = ", ".join(f"{r.name} ({r.kind})" for r in rep.runs)
    console.print(f"runs: {kinds}", highlight=False, soft_wrap=True)
    console.print(f"{len(rep.figures)} figures, {len(rep.tables)} tables, {len(rep.findings)} findings", highlight=False)
    for s in rep.skipped:
        console.print(f"  not drawn: {s.name} ({s.reason})", highlight=False, soft_wrap=True)
    console.print(f"report written to {rep.html}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``probe report`` to the ``probe`` app."""
    app.command("report")(report)
