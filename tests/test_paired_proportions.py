"""Tango's score interval for paired proportions, and the retention verdict it keeps honest at small n."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from nerprobe.analysis.paired_proportions import tango_ci
from nerprobe.retention.compare import compare_metric, verdict
from nerprobe.retention.pairing import PairedMetric


def test_no_discordant_pair_still_spans_z2_over_n_plus_z2():
    z2 = norm.ppf(0.975) ** 2
    for n in (20, 200, 2000):
        same = np.arange(n) % 3 == 0
        r = tango_ci(same, same)
        assert r.difference == 0 and r.low == pytest.approx(-z2 / (n + z2), rel=1e-6)
        assert r.high == pytest.approx(z2 / (n + z2), rel=1e-6)


def test_bounds_hold_the_estimate_and_move_with_the_data():
    before = np.array([1, 1] + [0] * 18, bool)
    after = np.array([1, 1] + [1] * 7 + [0] * 11, bool)
    r = tango_ci(before, after)
    assert (r.after_only, r.before_only) == (7, 0) and r.difference == pytest.approx(0.35)
    assert 0 < r.low < 0.35 < r.high < 1
    assert tango_ci(after, before).low == pytest.approx(-r.high)  # symmetric under swapping the models
    everything = tango_ci(np.zeros(10, bool), np.ones(10, bool))  # all discordant: Z = sqrt(n (1-d)/(1+d))
    z2 = norm.ppf(0.975) ** 2
    assert everything.high == 1.0 and everything.low == pytest.approx((10 - z2) / (10 + z2), rel=1e-6)


def test_coverage_at_small_n_is_at_least_nominal():
    rng = np.random.default_rng(0)
    hits, runs = 0, 800
    for _ in range(runs):
        base = rng.random(30) < 0.5
        flip = rng.random(30) < 0.2
        tuned = np.where(flip, rng.random(30) < 0.6, base)
        true = 0.8 * 0.5 + 0.2 * 0.6 - 0.5
        r = tango_ci(base, tuned)
        hits += r.low <= true <= r.high
    assert hits / runs >= 0.93


def _row(n: int, same: bool) -> dict:
    base = (np.arange(n) % 2 == 0).astype(float)
    tuned = base.copy() if same else 1 - base
    pair = PairedMetric("t", "acc", "none", list(range(n)), base, tuned, binary_by_task=True)
    row = compare_metric(pair, n_resamples=200)
    row["p_holm"] = row["p"]
    return row


def test_twenty_identical_answers_are_inconclusive_and_two_thousand_are_retained():
    small = _row(20, same=True)
    assert small["low"] < -0.15 and small["high"] > 0.15  # the bootstrap would have said [0, 0]
    assert verdict(small) == "inconclusive"
    assert verdict(_row(2000, same=True)) == "retained"
