"""Significance core against scipy/statsmodels references on the same data, within stated Monte-Carlo tolerances."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from nerprobe import __version__
from nerprobe.analysis import significance as sig
from nerprobe.analysis.spans import macro_f1, micro_f1


def _system(rng, gold, quality):
    """Per-sentence stats (n, labels, 3) of a synthetic system that finds each gold entity with prob ``quality``."""
    tp = rng.binomial(gold, quality)
    spurious = rng.binomial(2, 1 - quality, size=gold.shape)
    return np.stack([tp, tp + spurious, gold], axis=-1).astype(np.int64)


@pytest.fixture(scope="module")
def systems():
    rng = np.random.default_rng(42)
    gold = rng.integers(0, 3, size=(400, 4))
    return _system(rng, gold, 0.80), _system(rng, gold, 0.80)  # same quality: p-values away from 0 and 1


def test_resampled_totals_equal_a_plain_loop_over_the_same_indices(systems):
    a, b = systems
    tot_a, tot_b = sig.resampled_totals([a, b], n_resamples=250, seed=3)
    rows = np.concatenate(list(sig.resample_indices(len(a), 250, seed=3)))
    assert rows.shape == (250, len(a))
    for r, idx in enumerate(rows):
        np.testing.assert_array_equal(tot_a[r], a[idx].sum(axis=0))
        np.testing.assert_array_equal(tot_b[r], b[idx].sum(axis=0))


def test_bootstrap_ci_matches_scipy_percentile_bootstrap(systems):
    a, _ = systems
    ours = sig.bootstrap_ci(a, n_resamples=4000, seed=0)
    ref = scipy.stats.bootstrap(
        (np.arange(len(a)),),
        lambda idx, axis=-1: micro_f1(a[idx].sum(axis=-3)),
        n_resamples=4000,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(1),
    )
    # Tolerance: each endpoint (2.5%/97.5% quantile of 4000 draws) has MC sd ~0.06 bootstrap SDs; 0.25 SD is ~3 sd
    # of the difference of two independent estimates.
    tol = 0.25 * ref.standard_error
    assert ours.estimate == pytest.approx(micro_f1(a.sum(axis=0)))
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=tol)
    assert ours.low < ours.estimate < ours.high
    assert ours.signature == f"metric:micro-f1|match:exact|test:bootstrap|n:4000|seed:0|ci:95|nerprobe:{__version__}"


def test_paired_bootstrap_difference_ci_matches_scipy_and_records_its_method(systems):
    a, b = systems
    ours = sig.paired_bootstrap(a, b, n_resamples=4000, seed=0)
    ref = scipy.stats.bootstrap(
        (np.arange(len(a)),),
        lambda idx, axis=-1: micro_f1(b[idx].sum(axis=-3)) - micro_f1(a[idx].sum(axis=-3)),
        n_resamples=4000,
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(1),
    )
    tol = 0.25 * ref.standard_error  # as above
    assert ours.difference == pytest.approx(micro_f1(b.sum(0)) - micro_f1(a.sum(0)))
    assert ours.ci_difference[0] == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.ci_difference[1] == pytest.approx(ref.confidence_interval.high, abs=tol)
    assert ours.method == "paired-bootstrap" and ours.n_resamples == 4000 and ours.seed == 0
    assert "shifted" in ours.p_value_method
    assert ours.signature == (
        f"metric:micro-f1|match:exact|test:paired-bootstrap|n:4000|seed:0|ci:95|p:add-one|nerprobe:{__version__}"
    )


def test_paired_bootstrap_is_seeded_and_reproducible(systems):
    a, b = systems
    assert sig.paired_bootstrap(a, b, n_resamples=500, seed=7) == sig.paired_bootstrap(a, b, n_resamples=500, seed=7)
    assert sig.paired_bootstrap(a, b, n_resamples=500, seed=7) != sig.paired_bootstrap(a, b, n_resamples=500, seed=8)


def test_paired_bootstrap_of_a_system_with_itself_has_p_one_and_a_large_gap_has_a_small_p(systems):
    a, _ = systems
    same = sig.paired_bootstrap(a, a, n_resamples=1000, seed=0)
    assert same.difference == 0 and same.ci_difference == (0.0, 0.0) and same.p_value == 1.0
    rng = np.random.default_rng(5)
    gold = a[:, :, 2]
    strong = _system(rng, gold, 0.99)
    far = sig.paired_bootstrap(a, strong, n_resamples=1000, seed=0)
    # no resample crosses: not the add-one floor 1/1001 but the labelled normal tail, far below it
    assert far.p_value < 1e-6 and "normal-approximation tail" in far.p_value_method
    assert "|p:normal-tail|" in far.signature
    diffs = sig.resampled_totals([a, strong], 1000, seed=0)
    d = micro_f1(diffs[1]) - micro_f1(diffs[0])
    assert far.p_value == pytest.approx(2 * scipy.stats.norm.sf(abs(far.difference) / d.std()), rel=1e-6)


def test_approximate_randomization_matches_scipy_paired_permutation_test(systems):
    a, b = systems
    ours = sig.approximate_randomization(a, b, n_resamples=5000, seed=0)
    both = np.concatenate([a, b])
    n = len(a)

    def stat(x, y, axis=-1):
        return micro_f1(both[y].sum(axis=-3)) - micro_f1(both[x].sum(axis=-3))

    ref = scipy.stats.permutation_test(
        (np.arange(n), np.arange(n) + n),
        stat,
        permutation_type="samples",
        n_resamples=5000,
        vectorized=True,
        rng=np.random.default_rng(1),
    )
    assert ours.difference == pytest.approx(ref.statistic)
    assert 0.02 < ref.pvalue < 0.8, "the fixture should give a p-value that is not at either extreme"
    # Tolerance: each p-value has MC sd <= sqrt(.25/5000) = 0.007; 0.035 is ~3.5 sd of their difference (the null
    # distribution is symmetric, so scipy's 2*min(one-sided) and our |d| >= |d_obs| estimate the same p).
    assert ours.p_value == pytest.approx(ref.pvalue, abs=0.035)
    assert ours.signature.startswith("metric:micro-f1|match:exact|test:approximate-randomization|n:5000|seed:0|")


def test_approximate_randomization_with_macro_f1_matches_scipy(systems):
    a, b = systems
    ours = sig.approximate_randomization(a, b, metric="macro-f1", n_resamples=4000, seed=1)
    both = np.concatenate([a, b])
    n = len(a)
    ref = scipy.stats.permutation_test(
        (np.arange(n), np.arange(n) + n),
        lambda x, y, axis=-1: macro_f1(both[y].sum(axis=-3)) - macro_f1(both[x].sum(axis=-3)),
        permutation_type="samples",
        n_resamples=4000,
        vectorized=True,
        rng=np.random.default_rng(2),
    )
    assert ours.p_value == pytest.approx(ref.pvalue, abs=0.04)  # ~3.5 MC sd of the difference at 4000 resamples


def test_paired_bootstrap_mean_matches_scipy_paired_bootstrap():
    rng = np.random.default_rng(0)
    a = rng.normal(0.5, 0.2, size=300)
    b = a + rng.normal(0.03, 0.1, size=300)
    ours = sig.paired_bootstrap_mean(a, b, n_resamples=5000, seed=0)
    ref = scipy.stats.bootstrap(
        (a, b),
        lambda x, y, axis=-1: y.mean(axis=axis) - x.mean(axis=axis),
        paired=True,
        n_resamples=5000,
        method="percentile",
        rng=np.random.default_rng(1),
    )
    tol = 0.25 * ref.standard_error  # endpoint MC sd ~0.055 SD at 5000 draws
    assert ours.difference == pytest.approx(b.mean() - a.mean())
    assert ours.ci_difference[0] == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.ci_difference[1] == pytest.approx(ref.confidence_interval.high, abs=tol)
    ref_a = scipy.stats.bootstrap((a,), np.mean, n_resamples=5000, method="percentile", rng=np.random.default_rng(2))
    assert ours.ci_a[0] == pytest.approx(ref_a.confidence_interval.low, abs=0.25 * ref_a.standard_error)
    assert ours.ci_a[1] == pytest.approx(ref_a.confidence_interval.high, abs=0.25 * ref_a.standard_error)
    # the shifted-distribution p-value approximates a two-sided test of the mean difference: compare with the t-test
    t_p = scipy.stats.ttest_rel(b, a).pvalue
    assert ours.p_value == pytest.approx(t_p, abs=0.02) or (ours.p_value < 0.01 and t_p < 0.01)
    assert ours.method == "paired-bootstrap-mean" and ours.metric == "mean"


def test_mcnemar_exact_and_asymptotic_match_binomial_and_chi_square():
    rng = np.random.default_rng(3)
    a = rng.random(200) < 0.7
    b = np.where(rng.random(200) < 0.15, ~a, a)
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    ex = sig.mcnemar(a, b, exact=True)
    assert (ex.a_only, ex.b_only, ex.n_both + ex.n_neither) == (a_only, b_only, 200 - a_only - b_only)
    assert ex.p_value == pytest.approx(scipy.stats.binomtest(min(a_only, b_only), a_only + b_only, 0.5).pvalue)
    asym = sig.mcnemar(a, b, exact=False)
    chi2 = (abs(a_only - b_only) - 1) ** 2 / (a_only + b_only)
    assert asym.statistic == pytest.approx(chi2)
    assert asym.p_value == pytest.approx(scipy.stats.chi2.sf(chi2, 1))
    assert asym.method == "mcnemar-chi2-cc" and ex.method == "mcnemar-exact"
    # exact=None picks the exact test below 25 discordant pairs
    few = sig.mcnemar([True] * 10 + [False] * 5, [False] * 3 + [True] * 12)
    assert few.exact and few.method == "mcnemar-exact"


def test_holm_matches_step_down_by_hand_and_is_not_statsmodels_default():
    from statsmodels.stats.multitest import multipletests

    p = [0.010, 0.040, 0.030, 0.005, 0.20]
    m = len(p)
    order = np.argsort(p)
    by_hand = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * p[i])
        by_hand[i] = min(1.0, running)
    res = sig.holm(p)
    np.testing.assert_allclose(res.adjusted, by_hand)
    assert res.reject == tuple(by_hand <= 0.05)
    default = multipletests(p)[1]  # Holm-Sidak, which the function must not use
    assert not np.allclose(default, by_hand)
    assert res.method == "holm" and res.signature.startswith("test:holm|m:5|")


def test_bad_inputs_raise_value_errors(systems):
    a, b = systems
    with pytest.raises(ValueError, match="different shapes"):
        sig.paired_bootstrap(a, b[:10])
    with pytest.raises(ValueError, match="unknown metric"):
        sig.bootstrap_ci(a, metric="accuracy")
    with pytest.raises(ValueError):
        sig.mcnemar([True, False], [True])
