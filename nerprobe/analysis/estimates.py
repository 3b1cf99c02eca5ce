"""Typed results shared by the memorization probes and retention: an ``Estimate`` and a ``Comparison``.

Both are frozen dataclasses; they become dicts only at the JSON boundary (``to_dict``/``from_dict``).

JSON shapes::

    Estimate   {"value": float|null, "low": float|null, "high": float|null, "n": int,
                "signature": str|null, "reason": str|null, "conditioned_on": str|null}
    Comparison {"name": str, "kind": str, "metric": str, "a": str, "b": str,
                "value_a": float|null, "value_b": float|null, "difference": float|null,
                "low": float|null, "high": float|null, "n": int, "p": float|null, "p_method": str|null,
                "p_holm": float|null, "reject": bool|null, "in_family": bool, "signature": str|null,
                "reason": str|null, "about": {...}}

An estimate without support is ``n/a``: ``value`` None and ``reason`` saying why (never 0 by default). A comparison
``b - a`` is a test only when ``in_family`` (then ``p`` is set and, after Holm, ``p_holm``/``reject``); outside the
declared family it is an estimate of the difference with its CI, ``p`` None.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

MIN_SUPPORT = 20
"""An indicator conditioned on fewer than this many units (found spans, items) is ``n/a``."""


@dataclass(frozen=True)
class Estimate:
    """A value with its confidence interval, the number of units it rests on and how it was computed.

    ``value`` None means not available (``reason`` says why); ``conditioned_on`` names the units ``n`` counts
    (e.g. "swapped spans the predictor labelled")."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0
    signature: str | None = None
    reason: str | None = None
    conditioned_on: str | None = None

    @classmethod
    def na(cls, reason: str, n: int = 0, conditioned_on: str | None = None) -> "Estimate":
        """An estimate that is not available, with the reason."""
        return cls(None, None, None, n, None, reason, conditioned_on)

    @property
    def available(self) -> bool:
        """True when the estimate has a value."""
        return self.value is not None

    def to_dict(self) -> dict:
        """The JSON-ready dict (see the module docstring)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Estimate":
        """The inverse of ``to_dict``."""
        return cls(d.get("value"), d.get("low"), d.get("high"), int(d.get("n", 0)), d.get("signature"),
                   d.get("reason"), d.get("conditioned_on"))


@dataclass(frozen=True)
class Comparison:
    """A paired comparison ``b - a`` of one metric (memorization: two predictors or two probe sets; retention:
    base and tuned on one task and metric).

    ``low``/``high`` bound the difference; ``p`` is the test's p-value (None outside the declared family or without
    support, when ``reason`` says why), ``p_holm``/``reject`` are set by ``with_holm``; ``about`` holds what the
    comparison is about (probe, task, filter ...), JSON-ready."""

    name: str
    kind: str
    metric: str
    a: str
    b: str
    value_a: float | None
    value_b: float | None
    difference: float | None
    low: float | None
    high: float | None
    n: int
    p: float | None = None
    p_method: str | None = None
    p_holm: float | None = None
    reject: bool | None = None
    in_family: bool = True
    signature: str | None = None
    reason: str | None = None
    about: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def tested(self) -> bool:
        """True when the comparison is a test of the family with a p-value."""
        return self.in_family and self.p is not None

    def with_holm(self, p_holm: float, reject: bool) -> "Comparison":
        """A copy with its Holm-adjusted p-value and verdict."""
        return replace(self, p_holm=float(p_holm), reject=bool(reject))

    def to_dict(self) -> dict:
        """The JSON-ready dict (see the module docstring)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Comparison":
        """The inverse of ``to_dict``."""
        keys = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in keys})


def holm_adjust(comparisons: list[Comparison], alpha: float = 0.05) -> tuple[list[Comparison], dict]:
    """Holm over exactly the tested comparisons (``Comparison.tested``); returns the comparisons (tested ones with
    ``p_holm``/``reject``, the others unchanged, order kept) and ``{"n", "alpha", "method", "signature"}``."""
    from nerprobe.analysis.significance import holm

    tested = [i for i, c in enumerate(comparisons) if c.tested]
    if not tested:
        return list(comparisons), {"n": 0, "alpha": alpha}
    res = holm([comparisons[i].p for i in tested], alpha=alpha)
    out = list(comparisons)
    for i, adj, rej in zip(tested, res.adjusted, res.reject):
        out[i] = out[i].with_holm(adj, rej)
    return out, {"n": len(tested), "alpha": alpha, "method": res.method, "signature": res.signature}
