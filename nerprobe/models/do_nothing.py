"""The do-nothing control: an empty output for every request.

Every parser reads ``""`` as a failed parse with no entity, so each indicator must come out ``n/a`` (no found span
to condition on) for it, never a number at either end of a scale.
"""

from __future__ import annotations

from typing import Sequence

from nerprobe.models.predictors import Request


class DoNothingPredictor:
    """Outputs ``""`` for each request; ``fingerprint`` is the constant ``do-nothing:v1``."""

    fingerprint = "do-nothing:v1"

    def predict(self, requests: Sequence[Request], *, progress: bool = True) -> list[str]:
        """``[""] * len(requests)`` (``Predictor`` protocol; nothing to show progress for)."""
        return [""] * len(requests)
