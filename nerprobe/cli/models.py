"""``probe train`` and ``probe generate``: LoRA fine-tuning and batched generation."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the model commands to the ``probe`` app."""
