"""``probe data ...``: describe and convert corpora."""

from __future__ import annotations

import typer

app = typer.Typer(help="Read, convert and describe NER corpora.", no_args_is_help=True)
