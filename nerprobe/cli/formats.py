"""``probe formats ...``: render corpora as SFT data in one of the five output formats."""

from __future__ import annotations

import typer

app = typer.Typer(help="The five generative output formats.", no_args_is_help=True)
