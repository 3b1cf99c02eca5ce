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

from nerprobe.analysis.paired_proportions import tango_ci
from nerprobe.analysis.significance import holm, mcnemar, paired_bootstrap_mean, resamples_for_family
from nerprobe.retention.pairing import PairedMetric

DEFAULT_MARGIN = 2.0
"""``--margin``: the retention margin in points (hundredths of a 0-1 metric)."""
VERDICTS = ("worse", "better", "retained", "inconclusive")


def compare_metric(pair: PairedMetric, *, n_resamples: int = 10000, seed: int = 0, alpha: float = 0.05) -> dict:
    """One row: base and tuned means, the difference with its CI (Tango's score interval for a binary metric, else
    the paired bootstrap's), and the test's p-value.

    ``test`` names the test ("mcnemar-exact", "mcnemar-chi2-cc" or "paired-bootstrap"); ``signature`` says how the
    numbers were computed; ``binary`` whether the metric was tested as binary (``PairedMetric.binary``).
    """
    boot = paired_bootstrap_mean(pair.base, pair.tuned, n_resamples=n_resamples, seed=seed, alpha=alpha)
    row = {
        "task": pair.task,
        "metric": pair.metric,
        "filter": pair.filter,
        "n": len(pair.doc_ids),
        "base": boot.score_a,
        "tuned": boot.score_b,
        "delta": boot.difference,
        "ci_low": boot.ci_difference[0],
        "ci_high": boot.ci_difference[1],
        "alpha": alpha,
        "binary": pair.binary,
        "prompts_differ": pair.prompts_differ,
        "ci_signature": boot.signature,
    }
    if pair.binary:
        # the bootstrap CI collapses to [0, 0] when the models disagree on no item; the score interval does not
        ci = tango_ci(pair.base.astype(bool), pair.tuned.astype(bool), alpha)
        row.update(ci_low=ci.low, ci_high=ci.high, ci_signature=ci.signature)
        mc = mcnemar(pair.base.astype(bool), pair.tuned.astype(bool))
        row.update(
            test=mc.method,
            p=mc.p_value,
            base_only=mc.a_only,
            tuned_only=mc.b_only,
            signature=mc.signature,
        )
    else:
        row.update(test="paired-bootstrap", p=boot.p_value, p_value_method=boot.p_value_method,
                   signature=boot.signature)
    return row


def verdict(row: dict, higher_is_better: bool = True, margin: float = DEFAULT_MARGIN) -> str:
    """``worse``, ``better``, ``retained`` or ``inconclusive`` for a row with ``p_holm`` (see the module doc);
    ``margin`` is in points (``margin / 100`` on the metric's scale)."""
    if row["p_holm"] < row["alpha"] and row["delta"] != 0:
        improved = (row["delta"] > 0) == higher_is_better
        return "better" if improved else "worse"
    bound = margin / 100
    if -bound <= row["ci_low"] and row["ci_high"] <= bound:
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
    for r, p_adj in zip(rows, adj.adjusted):
        r["p_holm"] = p_adj
        r["holm_signature"] = adj.signature
        r["margin"] = margin
        r["n_resamples"] = n_resamples
        r["verdict"] = verdict(r, hib.get((r["task"], r["metric"]), True), margin)
    return rows
