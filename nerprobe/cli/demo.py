"""``probe demo``: the whole pipeline offline on the embedded demo corpus and tiny model."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``probe demo`` to the CLI (filled in below as the demo lands)."""
