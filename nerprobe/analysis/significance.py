"""Confidence intervals and paired significance tests over per-sentence sufficient statistics.

Following sacreBLEU, a span metric is a function of *summed* statistics (``nerprobe.analysis.spans``), so a
bootstrap resample is a count vector over sentences and its summed statistics are one matrix product:
``counts (resamples, n) @ stats (n, labels*3)``. The same resampled indices serve both systems of a paired test.
Written here rather than with ``scipy.stats.bootstrap``/``permutation_test``: those resample raw observations and
call the statistic once per batch of resamples, whereas F1 is a ratio of summed counts; one product over the
statistics array is ~100x faster than a loop and lets two systems share indices. The tests check the results
against scipy on the same data.

Every result is a frozen dataclass that records its ``method``, ``n_resamples``, ``seed`` and a sacreBLEU-style
``signature`` (``metric:micro-f1|match:exact|test:paired-bootstrap|n:10000|seed:0|ci:95|p:add-one|nerprobe:0.1.0``)
that says how the numbers were computed. Everything is seeded with ``numpy.random.default_rng(seed)`` and reproducible.

P-values:
- ``paired_bootstrap`` / ``paired_bootstrap_mean``: two-sided *shifted-distribution* p-value (Koehn 2004, as
  sacreBLEU's paired bootstrap): the bootstrap differences are centred on zero to stand for the null, and
  ``p = (1 + #{|d_b - mean(d)| >= |d_obs|}) / (B + 1)``.
- ``approximate_randomization``: each sentence's statistics are swapped between the systems with probability 1/2;
  ``p = (1 + #{|d_r| >= |d_obs|}) / (R + 1)`` (Noreen 1989; Riezler & Maxwell 2005).
- ``mcnemar``: statsmodels' exact binomial or asymptotic chi-square McNemar test.
- ``holm``: Holm's step-down adjustment (statsmodels ``multipletests(method="holm")``).

Resolution. A resampled p-value cannot be smaller than ``1/(B+1)``, so with too few resamples the verdict reflects
B, not the data (a family of 32 tests "rejects" at 1000 resamples only because 32/1001 < 0.05, and can never reject
at 51 tests). Two rules keep the resolution out of the verdict:
- a family of m tests at level alpha gets at least ``min_resamples(m, alpha) = ceil(20 m / alpha)`` resamples, so the
  smallest Holm threshold ``alpha/m`` is 20 resolution steps wide (``resamples_for_family`` chooses the number,
  ``check_resamples`` refuses a smaller one with ``TooFewResamples``);
- when no resample is as extreme as the observed difference, the add-one bound ``1/(B+1)`` says only "smaller than
  B allows", so the p-value is the two-sided normal-approximation tail from the resampled distribution's standard
  deviation instead. ``p_value_method`` says which was used, and the signature carries ``p:add-one`` or
  ``p:normal-tail``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from typing import Callable, Iterator, Sequence

import numpy as np

from nerprobe import __version__
from nerprobe.analysis.spans import METRICS
from nerprobe.errors import NerprobeError

Metric = Callable[[np.ndarray], np.ndarray]

BOOTSTRAP_P = "shifted-distribution (Koehn 2004 / sacreBLEU paired-bs), two-sided"
RANDOMIZATION_P = "proportion |d_r| >= |d_obs|, add-one, two-sided"
NORMAL_TAIL = ("; no resample as extreme as observed: two-sided normal-approximation tail from the resampled "
               "distribution's standard deviation")
RESOLUTION_FACTOR = 20
"""``min_resamples``: the smallest Holm threshold alpha/m must be this many resolution steps 1/(B+1) wide."""
DEFAULT_RESAMPLES = 10000
"""``resamples_for_family`` with no request: this many, or the family's minimum when that is larger."""
CHUNK_SIZE = 100
"""Resamples drawn per step: small chunks keep the (chunk, n) count matrix in cache (measured 2.5x faster than 1000
on 3453 sentences). The resampled rows depend on it, so it is part of the reproducible recipe and stays fixed."""
_TIE_TOLERANCE = 1e-12  # float noise when a resample reproduces the observed difference exactly


def signature(**parts) -> str:
    """A sacreBLEU-style signature ``key:value|key:value|...|nerprobe:<version>`` (None values left out)."""
    items = [f"{k.replace('_', '-')}:{v}" for k, v in parts.items() if v is not None]
    return "|".join(items + [f"nerprobe:{__version__}"])


def _ci_label(alpha: float) -> str:
    level = 100 * (1 - alpha)
    return f"{level:g}"


def _resolve_metric(metric: str | Metric) -> tuple[str, Metric, str | None]:
    """(name, function, match) for a metric name from ``spans.METRICS`` or a vectorized callable."""
    if callable(metric):
        return getattr(metric, "__name__", "custom"), metric, None
    try:
        return metric, METRICS[metric], "exact"
    except KeyError:
        raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}") from None


# -- how many resamples a family needs -------------------------------------------------------------------------
class TooFewResamples(NerprobeError, ValueError):
    """``n_resamples`` is too small for the family of tests: ``str()`` is ``n_resamples: <reason>``, the reason naming
    the family and the minimum; ``reason``, ``minimum``, ``n_resamples``, ``m`` and ``alpha`` are kept for callers
    that name their own option (the CLI: ``--n-resamples: <reason>``)."""

    def __init__(self, n_resamples: int, minimum: int, m: int, alpha: float):
        self.n_resamples, self.minimum, self.m, self.alpha = n_resamples, minimum, m, alpha
        self.reason = (f"{n_resamples} is too few for a family of {m} test(s) at alpha {alpha:g}: the minimum is "
                       f"{minimum} (20 x {m} / {alpha:g}); give at least that, or leave it out to get it")
        super().__init__(f"n_resamples: {self.reason}")


def min_resamples(m: int, alpha: float = 0.05) -> int:
    """The fewest resamples for a family of ``m`` tests at level ``alpha``: ``ceil(20 m / alpha)`` (0 when m is 0).

    With B resamples the smallest p-value is 1/(B+1); Holm's smallest threshold is alpha/m. Twenty steps of
    1/(B+1) under that threshold keep the verdict from hanging on the resolution.
    """
    if m < 0 or not 0 < alpha < 1:
        raise ValueError(f"need m >= 0 and 0 < alpha < 1, got m={m}, alpha={alpha}")
    return math.ceil(RESOLUTION_FACTOR * m / alpha - 1e-9) if m else 0


def check_resamples(n_resamples: int, m: int, alpha: float = 0.05) -> None:
    """Raise ``TooFewResamples`` when ``n_resamples`` is below ``min_resamples(m, alpha)``."""
    need = min_resamples(m, alpha)
    if n_resamples < need:
        raise TooFewResamples(n_resamples, need, m, alpha)


def resamples_for_family(m: int, alpha: float = 0.05, requested: int | None = None,
                         default: int = DEFAULT_RESAMPLES) -> int:
    """The number of resamples for a family of ``m`` tests: ``requested`` when given (checked with
    ``check_resamples``), else ``max(default, min_resamples(m, alpha))``."""
    if requested is not None:
        check_resamples(requested, m, alpha)
        return int(requested)
    return max(int(default), min_resamples(m, alpha))


# -- resampling -----------------------------------------------------------------------------------------------
def resample_indices(n: int, n_resamples: int, seed: int = 0, chunk_size: int = CHUNK_SIZE) -> Iterator[np.ndarray]:
    """Bootstrap index matrices of shape (k, n), k <= chunk_size, n_resamples rows in all, from ``default_rng(seed)``.

    Drawn in chunks to bound memory; the rows for a given (n, n_resamples, seed, chunk_size) are always the same.
    """
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, chunk_size):
        k = min(chunk_size, n_resamples - start)
        yield rng.integers(0, n, size=(k, n), dtype=np.int32)  # int32: ~1.7x faster to draw than int64


SMALL_N = 1024
"""Up to this many items, ``index_counts`` counts a whole chunk in one ``bincount`` (see there)."""


def index_counts(indices: np.ndarray, n: int, dtype=np.int64) -> np.ndarray:
    """How often each of the n items occurs in each row of ``indices`` (k, m): a (k, n) count matrix of ``dtype``."""
    k = indices.shape[0]
    if n <= SMALL_N:
        # few items: one bincount over offset indices (row i counts into bins i*n .. i*n+n-1); its k*n bins still
        # fit in the CPU cache, and one call instead of k saves the per-call cost that dominates small rows (4-10x
        # faster for n = 20..100, ~2x at 1000; same counts). int32 holds the offsets: k*n <= CHUNK_SIZE*SMALL_N.
        offsets = np.arange(0, k * n, n, dtype=np.int64 if k * n >= 2**31 else np.int32)
        flat = (indices + offsets[:, None]).ravel()
        return np.bincount(flat, minlength=k * n).reshape(k, n).astype(dtype, copy=False)
    # many items: one bincount per row, its n bins in the CPU cache (one bincount over offset indices into k*n bins
    # misses the cache and was up to ~10x slower at n in the thousands)
    out = np.empty((k, n), dtype=dtype)
    for i, row in enumerate(indices):
        out[i] = np.bincount(row, minlength=n)
    return out


#: (n, n_resamples, seed, chunk_size) -> the count matrices of those resamples, most recently used last.
_COUNTS_CACHE: OrderedDict[tuple[int, int, int, int], list[np.ndarray]] = OrderedDict()
COUNTS_CACHE_BYTES = 256 * 2**20
"""At most this many bytes of count matrices are kept (uint8: n * n_resamples bytes per key; 35 MB for the 3453
CoNLL-2003 test sentences and 10,000 resamples). A lookup memorization run on CoNLL-2003 resamples 10 sizes of
173 MB in all: with 128 MB they evicted each other and half were drawn twice."""
KEEP_COUNTS = [True]
"""``[False]`` (``counts_not_kept()``): count matrices are neither kept nor looked up (one CI in a process)."""


@contextmanager
def counts_not_kept():
    """A context in which ``resample_counts`` keeps no count matrix: for a caller that resamples once (``probe
    score``), keeping costs a conversion of every chunk and holds memory for nothing. Same counts either way."""
    before = KEEP_COUNTS[0]
    KEEP_COUNTS[0] = False
    try:
        yield
    finally:
        KEEP_COUNTS[0] = before


def resample_counts(n: int, n_resamples: int, seed: int = 0, chunk_size: int = CHUNK_SIZE,
                    dtype=np.float32) -> Iterator[np.ndarray]:
    """``index_counts`` of each chunk of ``resample_indices(n, n_resamples, seed, chunk_size)``, as small integers.

    A run estimates many quantities on the same items with the same seed (every indicator of a memorization run is
    resampled over the same test sentences), and the indices are a function of ``(n, n_resamples, seed,
    chunk_size)`` alone: the count matrices are kept (uint8 where every count fits, as it nearly always does) and
    given again instead of being drawn and counted again, within ``COUNTS_CACHE_BYTES``. Same counts either way;
    freshly counted ones come as ``dtype`` (the caller's), kept ones as they are kept.
    """
    if not KEEP_COUNTS[0]:
        for idx in resample_indices(n, n_resamples, seed, chunk_size):
            yield index_counts(idx, n, dtype)
        return
    key = (int(n), int(n_resamples), int(seed), int(chunk_size))
    cached = _COUNTS_CACHE.get(key)
    if cached is not None:
        _COUNTS_CACHE.move_to_end(key)
        yield from cached
        return
    keep = n * n_resamples <= COUNTS_CACHE_BYTES
    chunks: list[np.ndarray] = []
    for idx in resample_indices(n, n_resamples, seed, chunk_size):
        counts = index_counts(idx, n, dtype)
        if keep:  # a count is at most n: uint8 holds it when n <= 255, else when the largest one fits
            fits = n <= 255 or counts.max(initial=0) <= 255
            chunks.append(counts.astype(np.uint8) if fits else counts.copy())
        yield counts
    if keep:
        _COUNTS_CACHE[key] = chunks
        while sum(c.nbytes for v in _COUNTS_CACHE.values() for c in v) > COUNTS_CACHE_BYTES:
            _COUNTS_CACHE.popitem(last=False)


def resampled_totals(
    stats: np.ndarray | Sequence[np.ndarray], n_resamples: int = 10000, seed: int = 0, chunk_size: int = CHUNK_SIZE
) -> list[np.ndarray]:
    """Summed statistics of each bootstrap resample, for one or several systems on the same items.

    ``stats`` is one array of shape (n, ...) or a sequence of them (same n); all use the *same* resampled indices
    (``resample_indices``). Returns one float64 array of shape (n_resamples, ...) per system (integral values).
    """
    arrays = [np.asarray(stats)] if isinstance(stats, np.ndarray) else [np.asarray(s) for s in stats]
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise ValueError("the systems' statistics cover different numbers of items")
    if n == 0:
        raise ValueError("cannot resample zero items")
    widths = [int(np.prod(a.shape[1:], dtype=np.int64)) for a in arrays]
    # float32 products are exact here (integer counts and statistics, totals far below 2**24) and twice as fast
    flat = np.concatenate([a.reshape(n, -1).astype(np.float32) for a in arrays], axis=1)
    if np.abs(flat).max() * n >= 2**24:  # a resample total is at most n times the largest item value
        flat = flat.astype(np.float64)
    out = np.empty((n_resamples, flat.shape[1]))
    row = 0
    with _one_blas_thread():
        for counts in resample_counts(n, n_resamples, seed, chunk_size, flat.dtype):
            out[row : row + len(counts)] = np.asarray(counts, dtype=flat.dtype) @ flat
            row += len(counts)
    results, col = [], 0
    for a, w in zip(arrays, widths):
        results.append(out[:, col : col + w].reshape((n_resamples,) + a.shape[1:]))
        col += w
    return results


def _one_blas_thread():
    """A context that keeps BLAS to one thread: the products here are small (chunk x n times n x 24), and on a
    shared machine BLAS threads fighting over CPUs made the bootstrap 2-2.5x slower (measured). No-op without
    threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional
        return nullcontext()
    return threadpool_limits(1, "blas")


def _percentile_ci(values: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


# -- results --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Result:
    def to_dict(self) -> dict:
        """The result as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class BootstrapCI(_Result):
    """A percentile bootstrap confidence interval of one system's metric (fractions, e.g. F1 in [0, 1])."""

    metric: str
    estimate: float
    low: float
    high: float
    alpha: float
    n_items: int
    method: str
    n_resamples: int
    seed: int
    signature: str


@dataclass(frozen=True)
class PairedComparison(_Result):
    """Two systems on the same items: their scores, percentile CIs, the difference (b - a), its CI and p-value."""

    metric: str
    score_a: float
    score_b: float
    difference: float
    ci_a: tuple[float, float]
    ci_b: tuple[float, float]
    ci_difference: tuple[float, float]
    p_value: float
    p_value_method: str
    alpha: float
    n_items: int
    method: str
    n_resamples: int
    seed: int
    signature: str


@dataclass(frozen=True)
class RandomizationTest(_Result):
    """Paired approximate randomization test of the metric difference (b - a)."""

    metric: str
    score_a: float
    score_b: float
    difference: float
    p_value: float
    p_value_method: str
    n_items: int
    method: str
    n_resamples: int
    seed: int
    signature: str


@dataclass(frozen=True)
class McNemarResult(_Result):
    """McNemar's test on paired binary outcomes; ``a_only``/``b_only`` are the discordant counts."""

    n_both: int
    a_only: int
    b_only: int
    n_neither: int
    statistic: float
    p_value: float
    exact: bool
    correction: bool
    method: str
    n_resamples: int
    seed: int | None
    signature: str


@dataclass(frozen=True)
class HolmResult(_Result):
    """Holm step-down adjusted p-values (same order as given) and which hypotheses are rejected at ``alpha``."""

    pvalues: tuple[float, ...]
    adjusted: tuple[float, ...]
    reject: tuple[bool, ...]
    alpha: float
    method: str
    n_resamples: int
    seed: int | None
    signature: str


# -- tests ----------------------------------------------------------------------------------------------------
def bootstrap_ci(
    stats: np.ndarray,
    metric: str | Metric = "micro-f1",
    n_resamples: int = 10000,
    seed: int = 0,
    alpha: float = 0.05,
    match: str | None = None,
    *,
    every_resample: float | None = None,
) -> BootstrapCI:
    """Percentile bootstrap CI (resampling sentences) of ``metric`` on per-sentence statistics (n, labels, 3).

    ``match`` names how the statistics were counted (``exact``, ``text``, ``llms4ner``) for the signature; None
    takes the metric's default (``exact`` for span metrics).

    Nothing is drawn where the resamples' metric values are known without drawing, with the interval drawing gives:
    ``every_resample``, the value the caller knows the metric takes on every resample (micro-F1 with no true
    positive in any item is 0); or integer statistics whose items are all alike, where every resample's totals are
    ``n`` times the one item (the metric is computed on exactly those totals). A memorization run's do-nothing
    control gives a third of its intervals so."""
    name, fn, default_match = _resolve_metric(metric)
    match = match or default_match
    stats = np.asarray(stats)
    if every_resample is not None:
        values = np.full(n_resamples, float(every_resample))
    elif _alike_integer_items(stats):
        # the totals drawing would give, bit for bit: resampled totals are exact integers (see resampled_totals)
        one = stats[0].astype(np.float64) * stats.shape[0]
        values = fn(np.repeat(one[None], n_resamples, axis=0))
    else:
        (totals,) = resampled_totals(stats, n_resamples, seed)
        values = fn(totals)
    low, high = _percentile_ci(values, alpha)
    sig = signature(metric=name, match=match, test="bootstrap", n=n_resamples, seed=seed, ci=_ci_label(alpha))
    return BootstrapCI(
        metric=name,
        estimate=float(fn(stats.sum(axis=0))),
        low=low,
        high=high,
        alpha=alpha,
        n_items=stats.shape[0],
        method="bootstrap-percentile",
        n_resamples=n_resamples,
        seed=seed,
        signature=sig,
    )


def _alike_integer_items(stats: np.ndarray) -> bool:
    """True for integer (or boolean) statistics of at least one item whose items are all equal."""
    return (len(stats) > 0 and (np.issubdtype(stats.dtype, np.integer) or stats.dtype == np.bool_)
            and bool((stats == stats[:1]).all()))


def _resampled_p(null: np.ndarray, observed: float, method: str) -> tuple[float, str, str]:
    """``(p, p_value_method, signature tag)`` of ``observed`` against resampled null differences centred on 0.

    ``p = (1 + #{|null| >= |observed|}) / (B + 1)``; when no resample reaches ``|observed|``, the two-sided normal
    tail ``2 * sf(|observed| / sd)`` with ``sd`` the root mean square of ``null`` (see the module doc)."""
    hits = np.count_nonzero(np.abs(null) >= abs(observed) - _TIE_TOLERANCE)
    if hits:
        return float((hits + 1) / (len(null) + 1)), method, "add-one"
    sd = float(np.sqrt(np.mean(np.square(null))))
    z = abs(observed) / sd if sd > 0 else math.inf
    return float(2 * normal_sf(z)), method + NORMAL_TAIL, "normal-tail"


def normal_sf(z: float) -> float:
    """The standard normal upper tail ``P(Z > z)``: ``scipy.stats.norm.sf(z)``, which scipy computes as
    ``scipy.special.ndtr(-z)``; called directly, as importing ``scipy.stats`` costs some 0.5 s and
    ``scipy.special`` a fraction of it."""
    from scipy.special import ndtr

    return float(ndtr(-z))


def _shifted_p(diffs: np.ndarray, observed: float) -> tuple[float, str, str]:
    return _resampled_p(diffs - diffs.mean(), observed, BOOTSTRAP_P)


def paired_bootstrap(
    stats_a: np.ndarray,
    stats_b: np.ndarray,
    metric: str | Metric = "micro-f1",
    n_resamples: int = 10000,
    seed: int = 0,
    alpha: float = 0.05,
    match: str | None = None,
) -> PairedComparison:
    """Paired bootstrap over sentences: CIs of each system's metric and of the difference b - a, and a p-value.

    Both systems are resampled with the same indices. The p-value is the shifted-distribution one (see module doc).
    ``match`` names how the statistics were counted, for the signature (None: the metric's default).
    """
    name, fn, default_match = _resolve_metric(metric)
    match = match or default_match
    stats_a, stats_b = np.asarray(stats_a), np.asarray(stats_b)
    if stats_a.shape != stats_b.shape:
        raise ValueError(f"statistics of different shapes: {stats_a.shape} and {stats_b.shape}")
    tot_a, tot_b = resampled_totals([stats_a, stats_b], n_resamples, seed)
    sa, sb = fn(tot_a), fn(tot_b)
    score_a, score_b = float(fn(stats_a.sum(axis=0))), float(fn(stats_b.sum(axis=0)))
    diff = score_b - score_a
    p, p_method, p_tag = _shifted_p(sb - sa, diff)
    sig = signature(metric=name, match=match, test="paired-bootstrap", n=n_resamples, seed=seed, ci=_ci_label(alpha),
                    p=p_tag)
    return PairedComparison(
        metric=name,
        score_a=score_a,
        score_b=score_b,
        difference=diff,
        ci_a=_percentile_ci(sa, alpha),
        ci_b=_percentile_ci(sb, alpha),
        ci_difference=_percentile_ci(sb - sa, alpha),
        p_value=p,
        p_value_method=p_method,
        alpha=alpha,
        n_items=stats_a.shape[0],
        method="paired-bootstrap",
        n_resamples=n_resamples,
        seed=seed,
        signature=sig,
    )


def swap_masks(n: int, n_resamples: int, seed: int = 0, chunk_size: int = CHUNK_SIZE) -> Iterator[np.ndarray]:
    """Random 0/1 swap matrices of shape (k, n) (1 = swap that item's statistics), n_resamples rows in all."""
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, chunk_size):
        k = min(chunk_size, n_resamples - start)
        yield rng.integers(0, 2, size=(k, n))


def approximate_randomization(
    stats_a: np.ndarray,
    stats_b: np.ndarray,
    metric: str | Metric = "micro-f1",
    n_resamples: int = 10000,
    seed: int = 0,
) -> RandomizationTest:
    """Paired approximate randomization test of the metric difference b - a (two-sided, see module doc).

    Swapping item i moves ``b_i - a_i`` from b's total to a's, so each permuted total is
    ``A + swaps @ (b - a)`` and ``B - swaps @ (b - a)``: one matrix product per chunk.
    """
    name, fn, match = _resolve_metric(metric)
    stats_a, stats_b = np.asarray(stats_a), np.asarray(stats_b)
    if stats_a.shape != stats_b.shape:
        raise ValueError(f"statistics of different shapes: {stats_a.shape} and {stats_b.shape}")
    n = stats_a.shape[0]
    total_a, total_b = stats_a.sum(axis=0).astype(np.float64), stats_b.sum(axis=0).astype(np.float64)
    delta = (stats_b - stats_a).reshape(n, -1).astype(np.float64)
    observed = float(fn(total_b) - fn(total_a))
    diffs = np.empty(n_resamples)
    row = 0
    with _one_blas_thread():
        for mask in swap_masks(n, n_resamples, seed):
            moved = (mask.astype(np.float64) @ delta).reshape((len(mask),) + total_a.shape)
            diffs[row : row + len(mask)] = fn(total_b - moved) - fn(total_a + moved)
            row += len(mask)
    p, p_method, p_tag = _resampled_p(diffs, observed, RANDOMIZATION_P)
    sig = signature(metric=name, match=match, test="approximate-randomization", n=n_resamples, seed=seed, p=p_tag)
    return RandomizationTest(
        metric=name,
        score_a=float(fn(total_a)),
        score_b=float(fn(total_b)),
        difference=observed,
        p_value=p,
        p_value_method=p_method,
        n_items=n,
        method="approximate-randomization",
        n_resamples=n_resamples,
        seed=seed,
        signature=sig,
    )


def paired_bootstrap_mean(
    a_values: Sequence[float],
    b_values: Sequence[float],
    n_resamples: int = 10000,
    seed: int = 0,
    alpha: float = 0.05,
) -> PairedComparison:
    """Paired bootstrap for a continuous per-item metric: CIs of each mean and of the difference of means (b - a).

    Same resampling and shifted-distribution p-value as ``paired_bootstrap``; ``metric`` is ``"mean"``.
    """
    a = np.asarray(a_values, dtype=np.float64)
    b = np.asarray(b_values, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"need two 1-d arrays of equal length, got shapes {a.shape} and {b.shape}")
    n = len(a)
    tot_a, tot_b = resampled_totals([a[:, None], b[:, None]], n_resamples, seed)
    ma, mb = tot_a[:, 0] / n, tot_b[:, 0] / n
    diff = float(b.mean() - a.mean())
    p, p_method, p_tag = _shifted_p(mb - ma, diff)
    sig = signature(metric="mean", test="paired-bootstrap", n=n_resamples, seed=seed, ci=_ci_label(alpha), p=p_tag)
    return PairedComparison(
        metric="mean",
        score_a=float(a.mean()),
        score_b=float(b.mean()),
        difference=diff,
        ci_a=_percentile_ci(ma, alpha),
        ci_b=_percentile_ci(mb, alpha),
        ci_difference=_percentile_ci(mb - ma, alpha),
        p_value=p,
        p_value_method=p_method,
        alpha=alpha,
        n_items=n,
        method="paired-bootstrap-mean",
        n_resamples=n_resamples,
        seed=seed,
        signature=sig,
    )


EXACT_BELOW = 25
"""With ``exact=None``, McNemar is exact (binomial) when fewer than this many pairs are discordant."""


def mcnemar(
    a_correct: Sequence[bool], b_correct: Sequence[bool], exact: bool | None = None, correction: bool = True
) -> McNemarResult:
    """McNemar's test for paired binary outcomes (statsmodels). ``exact=None``: exact below 25 discordant pairs.

    ``correction`` applies the continuity correction to the asymptotic chi-square version.
    """
    from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

    a = np.asarray(a_correct, dtype=bool)
    b = np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"need two 1-d arrays of equal length, got shapes {a.shape} and {b.shape}")
    both, a_only = int(np.sum(a & b)), int(np.sum(a & ~b))
    b_only, neither = int(np.sum(~a & b)), int(np.sum(~a & ~b))
    if exact is None:
        exact = a_only + b_only < EXACT_BELOW
    res = sm_mcnemar([[both, a_only], [b_only, neither]], exact=exact, correction=correction)
    test = "mcnemar-exact" if exact else ("mcnemar-chi2-cc" if correction else "mcnemar-chi2")
    return McNemarResult(
        n_both=both,
        a_only=a_only,
        b_only=b_only,
        n_neither=neither,
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        exact=bool(exact),
        correction=bool(correction) and not exact,
        method=test,
        n_resamples=0,
        seed=None,
        signature=signature(metric="accuracy", test=test, n=len(a)),
    )


def holm(pvalues: Sequence[float], alpha: float = 0.05) -> HolmResult:
    """Holm's step-down adjustment of a family of p-values (the numbers of statsmodels
    ``multipletests(method="holm")``; statsmodels' default is Holm-Sidak).

    Written out rather than imported: importing ``statsmodels.stats.multitest`` takes over a second, the adjustment
    is a sort and a running maximum (tests/test_speed_equivalence.py checks it against statsmodels).
    """
    p = np.asarray(pvalues, dtype=np.float64)
    if p.ndim != 1 or len(p) == 0:
        raise ValueError("holm needs a non-empty 1-d list of p-values")
    order = np.argsort(p)
    factors = np.arange(len(p), 0, -1)
    kept = np.flatnonzero(p[order] > alpha / factors)  # step down: reject up to the first p above alpha/(m-i)
    reject, adjusted = np.empty(len(p), dtype=bool), np.empty(len(p))
    reject[order] = np.arange(len(p)) < (kept[0] if kept.size else len(p))
    adjusted[order] = np.minimum(np.maximum.accumulate(p[order] * factors), 1.0)
    return HolmResult(
        pvalues=tuple(float(x) for x in p),
        adjusted=tuple(float(x) for x in adjusted),
        reject=tuple(bool(x) for x in reject),
        alpha=alpha,
        method="holm",
        n_resamples=0,
        seed=None,
        signature=signature(test="holm", m=len(p), alpha=f"{alpha:g}"),
    )
