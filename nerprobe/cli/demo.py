"""``probe demo``: the whole pipeline offline on the embedded demo corpus and tiny model."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from nerprobe.cli.common import console, err_console, one_line_errors


@one_line_errors
def demo(
    out: Path = typer.Option(Path("nerprobe-demo"), "--out", help="folder for the runs and the report"),
    quick: bool = typer.Option(False, "--quick", help="a reduced size and one format (a first look, the tests)"),
    size: Optional[int] = typer.Option(None, "--size", min=2, help="test sentences per memorization run and items "
                                                                   "per retention task (default 60; --quick: 12)"),
    formats: List[str] = typer.Option([], "--format", help="output formats to tune and probe (repeatable; default: "
                                                           "xml and bracketed; --quick: xml)"),
    n_resamples: Optional[int] = typer.Option(None, "--n-resamples", min=1, help="bootstrap resamples (default: "
                                              "chosen from each run's family of tests; fewer are refused)"),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (runs, report, adapters, timings) "
                                 "instead of the report line."),
) -> None:
    """Build the demo corpus and tiny model, tune LoRA adapters, run memorization and retention, write the report."""
    import time

    from nerprobe.demo import DEFAULT_SIZE, DEMO_FORMATS, QUICK_SIZE, DemoConfig, run_demo
    from nerprobe.safe_io import check_run_dir

    check_run_dir(out, what="demo folder", parts=("runs", "report"))  # new, or an earlier demo's; never yours

    names = tuple(f.strip() for item in formats for f in item.split(",") if f.strip())
    cfg = DemoConfig(out=out, size=size or (QUICK_SIZE if quick else DEFAULT_SIZE),
                     formats=names or (DEMO_FORMATS[:1] if quick else DEMO_FORMATS), n_resamples=n_resamples,
                     progress=progress)
    t0 = time.perf_counter()
    result = run_demo(cfg, log=lambda m: err_console.print(m, highlight=False, markup=False, soft_wrap=True))
    err_console.print(f"done in {time.perf_counter() - t0:.0f}s", highlight=False)
    if as_json:
        import json

        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=1))
        return
    console.print(f"report: {result.report}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``probe demo`` to the ``probe`` app."""
    app.command("demo")(demo)
