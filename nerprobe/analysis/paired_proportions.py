"""A confidence interval for the difference of two paired proportions (the same items, right or wrong, before and
after tuning): Tango's score interval.

The percentile bootstrap of a paired difference collapses to a point when the two models disagree on no item
(every resample then has difference 0), so 20 items answered alike would give the CI [0, 0] and read as "retained
within any margin". Tango's interval inverts the score test of H0: Δ = δ, whose variance uses the restricted maximum
likelihood of the discordant cells: with no discordant pair among n items it still spans about ±z²/(n + z²)
(±16 points at n = 20), and it keeps its nominal coverage at small n (Tango 1998, Statistics in Medicine 17:891;
Newcombe 1998, Statistics in Medicine 17:2635, method 10).

Written here because neither scipy nor statsmodels has it (statsmodels' ``confint_proportions_2indep`` is for
independent samples); the roots are found with ``scipy.optimize.brentq``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from nerprobe.analysis.significance import signature


@dataclass(frozen=True)
class PairedProportionCI:
    """Δ = p(after) - p(before) on paired binary items, with its score CI: ``after_only`` counts items right only
    after, ``before_only`` items right only before."""

    difference: float
    low: float
    high: float
    n: int
    after_only: int
    before_only: int
    alpha: float
    method: str
    signature: str

    def to_dict(self) -> dict:
        """The result as a JSON-ready dict."""
        return asdict(self)


def _score(delta: float, b: int, c: int, n: int) -> float:
    """Tango's score statistic for H0: Δ = ``delta``, with ``b`` = after-only and ``c`` = before-only counts."""
    a_ = 2.0 * n
    b_ = -b - c + (2.0 * n - b + c) * delta
    c_ = -c * delta * (1.0 - delta)
    q = (math.sqrt(max(b_ * b_ - 4.0 * a_ * c_, 0.0)) - b_) / (2.0 * a_)
    var = n * (2.0 * q + delta * (1.0 - delta))
    if var <= 0:
        return math.copysign(math.inf, b - c - n * delta) if b - c != n * delta else 0.0
    return (b - c - n * delta) / math.sqrt(var)


def tango_ci(before, after, alpha: float = 0.05) -> PairedProportionCI:
    """Tango's score interval for p(after) - p(before) on paired 0/1 outcomes (equal-length arrays).

    The bounds are the deltas where the score statistic equals the normal quantile ``z(1 - alpha/2)``; they lie in
    [-1, 1]. ValueError for arrays of different lengths or no item."""
    before, after = np.asarray(before, dtype=bool), np.asarray(after, dtype=bool)
    if before.shape != after.shape or before.ndim != 1 or len(before) == 0:
        raise ValueError("need two equal-length, non-empty 1-d arrays of paired outcomes")
    n = len(before)
    b = int(np.sum(after & ~before))
    c = int(np.sum(before & ~after))
    d = (b - c) / n
    z = float(norm.ppf(1 - alpha / 2))
    eps = 1e-12

    def f(delta: float) -> float:
        return _score(delta, b, c, n) - z

    def g(delta: float) -> float:
        return _score(delta, b, c, n) + z

    # the statistic decreases in delta: it is +z at the lower bound and -z at the upper one
    low = -1.0 if f(-1.0 + eps) <= 0 else brentq(f, -1.0 + eps, d) if d > -1.0 + eps else -1.0
    high = 1.0 if g(1.0 - eps) >= 0 else brentq(g, d, 1.0 - eps) if d < 1.0 - eps else 1.0
    sig = signature(test="tango-score", n=n, ci=f"{100 * (1 - alpha):g}")
    return PairedProportionCI(d, min(low, d), max(high, d), n, b, c, alpha, "tango-score", sig)
