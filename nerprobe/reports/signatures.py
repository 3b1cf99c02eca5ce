"""Signatures in the manner of sacreBLEU: every reported number names how it was computed.

A table cites each distinct signature by a short key (``[a]``, ``[b]``, ...) in a ``sig.`` column and lists the keys
under the table, so a reader sees for each number the metric, matching mode, test, resamples, seed and CI level.
"""

from __future__ import annotations

from string import ascii_lowercase


class SignatureKeys:
    """Hands out short keys for signatures, in first-use order; ``items()`` lists ``(key, signature)``."""

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}

    def key(self, *signatures: str | None) -> str:
        """The keys of the given signatures joined by ``,`` (missing ones are skipped); '' when there is none."""
        out = []
        for sig in signatures:
            if not isinstance(sig, str) or not sig:  # None, or NaN from a frame column
                continue
            if sig not in self._keys:
                n = len(self._keys)
                self._keys[sig] = ascii_lowercase[n % 26] + ("" if n < 26 else str(n // 26))
            k = self._keys[sig]
            if k not in out:
                out.append(k)
        return ",".join(out)

    def items(self) -> list[tuple[str, str]]:
        """``(key, signature)`` pairs in the order the keys were handed out."""
        return [(k, s) for s, k in self._keys.items()]

    def __len__(self) -> int:
        return len(self._keys)
