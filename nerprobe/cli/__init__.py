"""The ``probe`` command line. It stays thin: each sub-module parses options, calls the library, prints.

Every ``NerprobeError`` (bad input, bad option) is printed as one line and exits with status 2.
"""

from __future__ import annotations

import os
import warnings

import typer

from nerprobe.cli import compare, data, demo, formats, memorization, models, report, retention, score, train

app = typer.Typer(help="Probe LLMs fine-tuned for NER: memorization, retention, reports.", no_args_is_help=True)
app.add_typer(data.app, name="data")
app.add_typer(formats.app, name="formats")
app.command("score")(score.score)
compare.register(app)
models.register(app)
train.register(app)
retention.register(app)
memorization.register(app)
report.register(app)
demo.register(app)


def _version(value: bool) -> None:
    """``probe --version``: print nerprobe's version and those of the libraries that decide its numbers, then exit."""
    if value:
        from nerprobe.provenance import versions

        found = versions()
        rest = ", ".join(f"{k} {v}" for k, v in found.items() if k != "nerprobe")
        typer.echo(f"nerprobe {found.get('nerprobe', 'unknown')}" + (f" ({rest})" if rest else ""))
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="print the version of nerprobe (and of torch, transformers, peft, lm-eval)"),
) -> None:
    """nerprobe: does the tuned model read or recall, and what did tuning cost it?"""
    # our own rich progress bars say what runs; the libraries' per-file bars and deprecation notices only hide them
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    warnings.filterwarnings("ignore", category=FutureWarning)
