"""Paired statistics of base versus tuned, per task and metric, with Holm's correction across the run's tests and a
verdict that says what the data can support.

Binary per-item metrics (``pairing.BINARY_METRICS``: accuracy, exact match) are tested with McNemar's test; every
other metric (F1 as in DROP, BLEU, ...) with the paired bootstrap of the mean difference. Every row also carries a
CI of the difference (tuned - base): Tango's score interval for binary metrics (``analysis.paired_proportions``: the
bootstrap one collapses to [0, 0] when the models disagree on no item, which would read as retained on 20 items),
the paired bootstrap CI otherwise. The tests come from ``nerprobe.analysis.significance``.

The family is every row of one comparison (base vs one adapter: every task, metric and filter); Holm runs over it.
When some row's p-value comes from the bootstrap, the number of resamples must resolve the family's smallest Holm
threshold (``significance.resamples_for_family``): ``n_resamples=None`` chooses it, a smaller request is refused
with ``TooFewResamples``.

Verdicts (``verdict``), in this order:
- ``worse`` / ``better``: Holm-adjusted p below alpha, by the sign of the difference and the metric's direction;
- ``retained``: not significant, and the 95% CI of the difference lies within ``±margin`` (default 2 points, i.e.
  0.02 on a 0-1 metric): a change larger than the margin is ruled out at that confidence;
- ``inconclusive``: neither; "no significant change" with a CI wider than the margin is not evidence of retention
  (at ``--limit 20`` it almost never is).
"""

from __future__ import annotations

from typing import Iterable

from nerprobe.analysis.estimates import Comparison
from nerprobe.analysis.paired_proportions import tango_ci
from nerprobe.analysis.significance import holm, mcnemar, paired_bootstrap_mean, resamples_for_family
from nerprobe.retention.pairing import PairedMetric

DEFAULT_MARGIN = 2.0
"""``--margin``: the retention margin in points (hundredths of a 0-1 metric)."""
VERDICTS = ("worse", "better", "retained", "inconclusive")


def compare_metric(pair: PairedMetric, *, n_resamples: int = 10000, seed: int = 0, alpha: float = 0.05) -> dict:
    """One row: the ``analysis.estimates.Comparison`` of tuned (``b``) against base (``a``) on one task, metric and
    filter, as a dict, with what retention adds.

    ``value_a``/``value_b`` are the base and tuned means, ``difference`` tuned - base with its CI ``low``/``high``
    (Tango's score interval for a binary metric, else the paired bootstrap's), ``p`` the test's p-value and
    ``p_method`` the test ("mcnemar-exact", "mcnemar-chi2-cc" or "paired-bootstrap"); ``about`` holds task, metric
    and filter. Retention adds ``task``, ``filter``, ``n``-independent facts: ``alpha``, ``binary``,
    ``prompts_differ``, ``ci_signature`` and, for McNemar, ``base_only``/``tuned_only`` (the discordant counts)."""
    boot = paired_bootstrap_mean(pair.base, pair.tuned, n_resamples=n_resamples, seed=seed, alpha=alpha)
    low, high, ci_signature = boot.ci_difference[0], boot.ci_difference[1], boot.signature
    extra: dict = {}
    if pair.binary:
        # the bootstrap CI collapses to [0, 0] when the models disagree on no item; the score interval does not
        ci = tango_ci(pair.base.astype(bool), pair.tuned.astype(bool), alpha)
        low, high, ci_signature = ci.low, ci.high, ci.signature
        mc = mcnemar(pair.base.astype(bool), pair.tuned.astype(bool))
        p, method, signature = mc.p_value, mc.method, mc.signature
        extra = {"base_only": mc.a_only, "tuned_only": mc.b_only}
    else:
        p, method, signature = boot.p_value, "paired-bootstrap", boot.signature
        extra = {"p_value_method": boot.p_value_method}
    comparison = Comparison(
        name=f"{pair.task} {pair.metric} ({pair.filter})", kind="retention", metric=pair.metric, a="base", b="tuned",
        value_a=boot.score_a, value_b=boot.score_b, difference=boot.difference, low=low, high=high,
        n=len(pair.doc_ids), p=p, p_method=method, signature=signature,
        about={"task": pair.task, "metric": pair.metric, "filter": pair.filter})
    return {**comparison.to_dict(), "task": pair.task, "filter": pair.filter, "alpha": alpha, "binary": pair.binary,
            "prompts_differ": pair.prompts_differ, "ci_signature": ci_signature, "test": method, **extra}


def verdict(row: dict, higher_is_better: bool = True, margin: float = DEFAULT_MARGIN) -> str:
    """``worse``, ``better``, ``retained`` or ``inconclusive`` for a row with ``p_holm`` (see the module doc);
    ``margin`` is in points (``margin / 100`` on the metric's scale)."""
    if row["p_holm"] < row["alpha"] and row["difference"] != 0:
        improved = (row["difference"] > 0) == higher_is_better
        return "better" if improved else "worse"
    bound = margin / 100
    if -bound <= row["low"] and row["high"] <= bound:
        return "retained"
    return "inconclusive"


def family_resamples(pairs: list[PairedMetric], n_resamples: int | None, alpha: float) -> int:
    """The resamples for a family of these paired metrics: checked against (or chosen from) the family size when
    some metric is tested with the bootstrap; otherwise the request (resamples then only make CIs), else the
    default. Raises ``TooFewResamples``."""
    if any(not p.binary for p in pairs):
        return resamples_for_family(len(pairs), alpha, n_resamples)
    return resamples_for_family(0, alpha, n_resamples)


def compare_runs(
    pairs: Iterable[PairedMetric],
    higher_is_better: dict[tuple[str, str], bool] | None = None,
    *,
    n_resamples: int | None = None,
    seed: int = 0,
    alpha: float = 0.05,
    margin: float = DEFAULT_MARGIN,
) -> list[dict]:
    """Rows for every paired metric, with ``p_holm`` (Holm across all rows, i.e. every test of this comparison),
    ``verdict`` and the ``margin`` it used. ``higher_is_better`` maps (task, metric) to lm-eval's flag (default
    True). ``n_resamples`` None: chosen from the family (see the module doc); too few raise ``TooFewResamples``."""
    pairs = list(pairs)
    if margin <= 0:
        raise ValueError(f"the retention margin must be positive, got {margin}")
    n_resamples = family_resamples(pairs, n_resamples, alpha)
    rows = [compare_metric(p, n_resamples=n_resamples, seed=seed, alpha=alpha) for p in pairs]
    if not rows:
        return rows
    adj = holm([r["p"] for r in rows], alpha=alpha)
    hib = higher_is_better or {}
    for r, p_adj, rej in zip(rows, adj.adjusted, adj.reject):
        r["p_holm"] = p_adj
        r["reject"] = bool(rej)
        r["holm_signature"] = adj.signature
        r["margin"] = margin
        r["n_resamples"] = n_resamples
        r["verdict"] = verdict(r, hib.get((r["task"], r["metric"]), True), margin)
    return rows
