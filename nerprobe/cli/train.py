"""``probe train``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the train command(s) to the ``probe`` app."""
