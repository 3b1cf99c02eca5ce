"""``probe score``: exact span scores of predictions against gold."""

from __future__ import annotations


def score() -> None:
    """Score predictions against gold (not yet built)."""
    raise SystemExit("probe score is not built yet")
