"""P-values that depend on the data, not on the number of resamples: the family's minimum number of resamples,
type-I error of the paired bootstrap and approximate randomization by simulation, and power at every allowed count."""

from __future__ import annotations

import numpy as np
import pytest

from nerprobe.analysis import significance as sig
from nerprobe.errors import NerprobeError

ALPHA = 0.05


def _system(rng, gold, quality):
    """Per-sentence stats (n, labels, 3) of a system that finds each gold entity with prob ``quality`` and adds a
    spurious one with prob 0.15 per label."""
    tp = rng.binomial(gold, quality)
    spurious = rng.binomial(1, 0.15, size=gold.shape)
    return np.stack([tp, tp + spurious, gold], axis=-1).astype(np.int64)


def test_minimum_resamples_follow_the_family():
    assert sig.min_resamples(1, 0.05) == 400
    assert sig.min_resamples(32, 0.05) == 12800
    assert sig.min_resamples(51, 0.05) == 20400
    assert sig.min_resamples(3, 0.01) == 6000
    assert sig.min_resamples(0, 0.05) == 0
    for m in (1, 7, 32, 51):
        # the smallest Holm threshold alpha/m is at least 20 steps of the resolution 1/(B+1)
        assert ALPHA / m >= 20 / (sig.min_resamples(m, ALPHA) + 1) - 1e-12
    assert sig.resamples_for_family(51) == 20400 and sig.resamples_for_family(2) == sig.DEFAULT_RESAMPLES
    assert sig.resamples_for_family(2, requested=800) == 800


def test_too_few_resamples_are_refused_with_the_minimum():
    with pytest.raises(sig.TooFewResamples) as err:
        sig.resamples_for_family(32, ALPHA, requested=1000)
    assert isinstance(err.value, NerprobeError) and isinstance(err.value, ValueError)
    assert err.value.minimum == 12800 and err.value.m == 32
    assert str(err.value).startswith("n_resamples: 1000 is too few for a family of 32")
    assert "12800" in str(err.value) and "\n" not in str(err.value) and err.value.reason in str(err.value)
    sig.check_resamples(12800, 32, ALPHA)  # exactly the minimum is allowed


def test_type_one_error_is_nominal_for_bootstrap_and_randomization():
    """Two systems of the same quality on the same sentences (the null): at alpha 0.05, each test rejects in 3-6%
    of 1500 seeded simulations (binomial sd of the rate at 5%: 0.56 points)."""
    rng = np.random.default_rng(2024)
    n_sim, n_items = 1500, 200
    boot = rand = 0
    for k in range(n_sim):
        gold = rng.integers(0, 3, size=(n_items, 4))
        a, b = _system(rng, gold, 0.7), _system(rng, gold, 0.7)
        boot += sig.paired_bootstrap(a, b, n_resamples=sig.min_resamples(1), seed=k).p_value <= ALPHA
        rand += sig.approximate_randomization(a, b, n_resamples=sig.min_resamples(1), seed=k).p_value <= ALPHA
    assert 0.03 <= boot / n_sim <= 0.06, boot / n_sim
    assert 0.03 <= rand / n_sim <= 0.06, rand / n_sim


@pytest.mark.parametrize("m", [1, 5, 32, 51])
def test_a_large_effect_is_detected_at_every_allowed_resample_count(m):
    rng = np.random.default_rng(7)
    gold = rng.integers(0, 3, size=(200, 4))
    a, b = _system(rng, gold, 0.55), _system(rng, gold, 0.75)
    for n_resamples in (sig.min_resamples(m), 2 * sig.min_resamples(m)):
        boot = sig.paired_bootstrap(a, b, n_resamples=n_resamples, seed=1)
        rand = sig.approximate_randomization(a, b, n_resamples=n_resamples, seed=1)
        # rejected at Holm's smallest threshold, i.e. whatever the other m - 1 tests of the family give
        assert boot.p_value < ALPHA / m and rand.p_value < ALPHA / m, (n_resamples, boot.p_value, rand.p_value)
        holm = sig.holm([boot.p_value] + [1.0] * (m - 1), alpha=ALPHA)
        assert holm.reject[0]


def test_a_total_collapse_is_significant_even_where_no_resample_crosses():
    """The issue's case: F1 62.4 -> 0. With the add-one rule and 100 resamples p was 1/101 (not significant in a
    family); the labelled tail approximation gives the data's own tiny p."""
    rng = np.random.default_rng(3)
    gold = rng.integers(0, 3, size=(60, 4))
    good = _system(rng, gold, 0.65)
    nothing = np.stack([np.zeros_like(gold), np.zeros_like(gold), gold], axis=-1)
    res = sig.paired_bootstrap(good, nothing, n_resamples=sig.min_resamples(32), seed=0)
    assert res.p_value < 1e-6 and res.signature.endswith(f"|p:normal-tail|nerprobe:{sig.__version__}")
    assert "normal-approximation tail" in res.p_value_method


def test_a_moderate_p_value_does_not_depend_on_the_number_of_resamples():
    rng = np.random.default_rng(11)
    gold = rng.integers(0, 3, size=(300, 4))
    a, b = _system(rng, gold, 0.66), _system(rng, gold, 0.70)
    ps = [sig.paired_bootstrap(a, b, n_resamples=sig.min_resamples(m), seed=m).p_value for m in (1, 5, 20)]
    assert "add-one" in sig.paired_bootstrap(a, b, n_resamples=400, seed=0).signature
    # Monte-Carlo sd of a p near 0.1 at 400 resamples is 0.015: the three agree within ~3 sd
    assert max(ps) - min(ps) < 0.05, ps
    assert all(0.005 < p < 0.5 for p in ps), ps
