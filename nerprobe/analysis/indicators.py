"""Indicators as functions of per-unit statistics: estimates with bootstrap CIs and paired comparisons.

An indicator rests on units (probe items, original sentences, matched pairs); each unit contributes a row of counts
(``UnitStats.stats``, shape ``(n_units, k)``) and the indicator is a function of the column sums (``fn``), e.g.
memory-label / (memory-label + context-label). The bootstrap resamples units, sums and applies ``fn`` in one
vectorized step (``significance.bootstrap_ci``/``paired_bootstrap`` accept any ``fn`` over summed statistics), so
two predictors on the same units are compared with the same resampled indices.

``support`` is the number of units of what the indicator is conditioned on (found spans, labelled spans, entities
found in the original sentences ...); below ``estimates.MIN_SUPPORT`` the indicator is ``n/a`` with the reason, and
so is any comparison that involves it. Nothing is 0 by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from nerprobe.analysis.estimates import MIN_SUPPORT, Comparison, Estimate
from nerprobe.analysis.significance import bootstrap_ci, paired_bootstrap

Fn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class UnitStats:
    """Per-unit statistics of one indicator for one predictor.

    ``stats`` (n_units, k) counts; ``fn`` maps summed statistics (..., k) to the indicator (vectorized over leading
    axes); ``support`` how many units of ``conditioned_on`` there are; ``reason`` set when the indicator cannot be
    computed at all (e.g. "no items")."""

    stats: np.ndarray
    fn: Fn
    support: int
    conditioned_on: str
    metric: str
    reason: str | None = None

    def na_reason(self, min_support: int = MIN_SUPPORT) -> str | None:
        """Why the indicator is not available (None when it is)."""
        if self.reason:
            return self.reason
        if not len(self.stats):
            return "no items"
        if self.support < min_support:
            return f"too little support: {self.support} {self.conditioned_on} (fewer than {min_support})"
        return None


def safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` elementwise, 0 where ``den`` is 0 (only reached by resamples without support: the indicator
    itself is ``n/a`` below ``MIN_SUPPORT``)."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def f1_of(tp: np.ndarray, pred: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Micro F1 ``2 tp / (pred + gold)`` elementwise (0 where both are 0)."""
    return safe_ratio(2 * np.asarray(tp, dtype=float), np.asarray(pred, dtype=float) + gold)


def estimate(unit: UnitStats, n_resamples: int, seed: int, min_support: int = MIN_SUPPORT, *,
             every_resample: float | None = None) -> Estimate:
    """The indicator's value with a percentile bootstrap CI over units, or ``n/a`` with the reason.
    ``every_resample``: the value the caller knows the indicator takes on every resample (``bootstrap_ci``)."""
    reason = unit.na_reason(min_support)
    if reason:
        return Estimate.na(reason, unit.support, unit.conditioned_on)
    r = bootstrap_ci(unit.stats, _named(unit.fn, unit.metric), n_resamples=n_resamples, seed=seed, match="exact",
                     every_resample=every_resample)
    return Estimate(r.estimate, r.low, r.high, unit.support, r.signature, None, unit.conditioned_on)


def compare(name: str, kind: str, a: str, b: str, unit_a: UnitStats, unit_b: UnitStats, n_resamples: int, seed: int,
            *, in_family: bool = True, min_support: int = MIN_SUPPORT, **about) -> Comparison:
    """The paired comparison ``b - a`` of one indicator on the same units (same resampled indices): a test with a
    p-value when ``in_family``, else the difference with its CI only; ``n/a`` (``reason``) when either side lacks
    support."""
    for who, unit in ((a, unit_a), (b, unit_b)):
        reason = unit.na_reason(min_support)
        if reason:
            return Comparison(name, kind, unit_a.metric, a, b, None, None, None, None, None, len(unit_a.stats),
                              in_family=in_family, reason=f"{who}: {reason}", about=about)
    if unit_a.stats.shape != unit_b.stats.shape:
        raise ValueError(f"{name}: the two sides have different units ({unit_a.stats.shape} vs {unit_b.stats.shape})")
    r = paired_bootstrap(unit_a.stats, unit_b.stats, _named(unit_a.fn, unit_a.metric), n_resamples=n_resamples,
                         seed=seed, match="exact")
    return Comparison(name, kind, unit_a.metric, a, b, r.score_a, r.score_b, r.difference, r.ci_difference[0],
                      r.ci_difference[1], r.n_items, r.p_value if in_family else None,
                      r.p_value_method if in_family else None, in_family=in_family, signature=r.signature,
                      about=about)


def _named(fn: Fn, metric: str) -> Fn:
    """``fn`` under the indicator's name, for the signature (``significance`` names a callable metric by
    ``__name__``)."""

    def metric_fn(totals):
        return fn(totals)

    metric_fn.__name__ = metric
    return metric_fn
