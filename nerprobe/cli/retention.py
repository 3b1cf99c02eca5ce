"""``probe retention``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the retention command(s) to the ``probe`` app."""
