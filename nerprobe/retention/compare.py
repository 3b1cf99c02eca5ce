"""Paired statistics of base versus tuned, per task and metric, with Holm's correction across the run's tests.

Binary per-item metrics (accuracy, exact match) are tested with McNemar's test; continuous ones (F1 as in DROP)
with the paired bootstrap of the mean difference. Every row also carries the paired bootstrap CI of the difference
(tuned - base). The tests come from ``nerprobe.analysis.significance``.
"""

from __future__ import annotations

from typing import Iterable

from nerprobe.analysis.significance import holm, mcnemar, paired_bootstrap_mean
from nerprobe.retention.pairing import PairedMetric


def compare_metric(pair: PairedMetric, *, n_resamples: int = 10000, seed: int = 0, alpha: float = 0.05) -> dict:
    """One row: base and tuned means, the difference with its paired bootstrap CI, and the test's p-value.

    ``test`` names the test ("mcnemar-exact", "mcnemar-chi2-cc" or "paired-bootstrap"); ``signature`` says how the
    numbers were computed.
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
        "prompts_differ": pair.prompts_differ,
        "ci_signature": boot.signature,
    }
    if pair.binary:
        mc = mcnemar(pair.base.astype(bool), pair.tuned.astype(bool))
        row.update(
            test=mc.method,
            p=mc.p_value,
            base_only=mc.a_only,
            tuned_only=mc.b_only,
            signature=mc.signature,
        )
    else:
        row.update(test="paired-bootstrap", p=boot.p_value, signature=boot.signature)
    return row


def verdict(row: dict, higher_is_better: bool = True) -> str:
    """"worse", "better" (Holm-adjusted p below alpha, by the sign of the difference) or "no sig. change"."""
    if row["p_holm"] >= row["alpha"] or row["delta"] == 0:
        return "no sig. change"
    improved = (row["delta"] > 0) == higher_is_better
    return "better" if improved else "worse"


def compare_runs(
    pairs: Iterable[PairedMetric],
    higher_is_better: dict[tuple[str, str], bool] | None = None,
    *,
    n_resamples: int = 10000,
    seed: int = 0,
    alpha: float = 0.05,
) -> list[dict]:
    """Rows for every paired metric, with ``p_holm`` (Holm across all rows, i.e. every test of this comparison)
    and ``verdict``. ``higher_is_better`` maps (task, metric) to lm-eval's flag (default True)."""
    rows = [compare_metric(p, n_resamples=n_resamples, seed=seed, alpha=alpha) for p in pairs]
    if not rows:
        return rows
    adj = holm([r["p"] for r in rows], alpha=alpha)
    hib = higher_is_better or {}
    for r, p_adj in zip(rows, adj.adjusted):
        r["p_holm"] = p_adj
        r["holm_signature"] = adj.signature
        r["verdict"] = verdict(r, hib.get((r["task"], r["metric"]), True))
    return rows
