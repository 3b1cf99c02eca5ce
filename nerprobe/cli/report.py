"""``probe report``: paper-style figures, tables and a self-contained HTML page from run directories."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add ``probe report`` to the CLI (filled in below as the report lands)."""
