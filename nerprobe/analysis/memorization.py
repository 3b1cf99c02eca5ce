"""Scores and statistics of the memorization probes.

Every figure is a fraction in [0, 1] with a percentile bootstrap CI (``nerprobe.analysis.significance``); a rate
(pair-lookup accuracy, context-following under type swaps) is scored as the recall of a one-label statistics array
(correct, 1, 1) per item, so the same vectorized bootstrap serves spans and rates. Paired comparisons use the paired
bootstrap and are Holm-corrected together as one family (``holm_family``).

Memorization indicators, each 0 at the context-only end and (about) 1 at the memorizer end:
- ``f1_drop``: F1 on the original test sentences minus F1 on the same sentences with unseen entities;
- ``memory_following``: share of type-swapped entities given the memorized (training) label;
- ``pair_lookup_gain``: accuracy on training entities presented alone minus accuracy on held-out entities alone.
``position`` places a model between the two ends: ``(value - context_end) / (memorizer_end - context_end)``, with the
ends measured by the lookup baseline and, where there is one (the demo), the context-only predictor; without it the
context end is the ideal 0.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from nerprobe.analysis.significance import bootstrap_ci, holm, paired_bootstrap
from nerprobe.analysis.spans import prf, prf_arrays, span_stats
from nerprobe.data.model import Entity

INDICATORS = ("f1_drop", "memory_following", "pair_lookup_gain")


def rate(totals: np.ndarray) -> np.ndarray:
    """Micro recall of summed statistics (..., labels, 3): for outcome arrays, the share of correct items."""
    return prf_arrays(totals.sum(axis=-2))[1]


def outcome_stats(outcomes: Iterable[bool]) -> np.ndarray:
    """Per-item binary outcomes as a (n, 1, 3) statistics array ``[correct, 1, 1]``."""
    o = np.fromiter((bool(x) for x in outcomes), dtype=np.int64)
    out = np.ones((len(o), 1, 3), dtype=np.int64)
    out[:, 0, 0] = o
    return out


def _ci(result) -> dict:
    return {"estimate": result.estimate, "low": result.low, "high": result.high, "n": result.n_items,
            "signature": result.signature}


def f1_with_ci(stats: np.ndarray, labels: Sequence[str], n_resamples: int, seed: int) -> dict:
    """Micro P/R/F1 and a bootstrap CI of micro F1 (over sentences) from span statistics."""
    scores = prf(stats, labels) if len(stats) else {"micro": {"precision": 0.0, "recall": 0.0, "f1": 0.0}}
    out = {"precision": scores["micro"]["precision"], "recall": scores["micro"]["recall"],
           "f1": scores["micro"]["f1"], "n_sentences": int(len(stats))}
    if len(stats):
        out["f1_ci"] = _ci(bootstrap_ci(stats, "micro-f1", n_resamples=n_resamples, seed=seed))
    return out


def rate_with_ci(outcomes: Sequence[bool], n_resamples: int, seed: int) -> dict:
    """A rate and its bootstrap CI over items (``estimate`` 0 and no CI when there is no item)."""
    if len(outcomes) == 0:
        return {"estimate": 0.0, "low": None, "high": None, "n": 0}
    return _ci(bootstrap_ci(outcome_stats(outcomes), rate, n_resamples=n_resamples, seed=seed))


def compare(name: str, kind: str, stats_a: np.ndarray, stats_b: np.ndarray, metric, n_resamples: int,
            seed: int, **about) -> dict:
    """One paired comparison (b - a) as a JSON-ready dict with its bootstrap p-value; ``about`` is stored too."""
    r = paired_bootstrap(stats_a, stats_b, metric, n_resamples=n_resamples, seed=seed)
    return {"name": name, "kind": kind, **about, "metric": r.metric, "score_a": r.score_a, "score_b": r.score_b,
            "difference": r.difference, "ci_difference": list(r.ci_difference), "p_value": r.p_value,
            "n_items": r.n_items, "signature": r.signature}


def holm_family(comparisons: list[dict], alpha: float = 0.05) -> dict:
    """Holm-adjust the p-values of all ``comparisons`` as one family, in place (``p_holm``, ``reject``)."""
    if not comparisons:
        return {"n": 0}
    res = holm([c["p_value"] for c in comparisons], alpha=alpha)
    for c, adj, rej in zip(comparisons, res.adjusted, res.reject):
        c["p_holm"] = float(adj)
        c["reject"] = bool(rej)
    return {"n": len(comparisons), "alpha": alpha, "method": res.method, "signature": res.signature}


# -- per-probe scoring -----------------------------------------------------------------------------------------
def probe_span_stats(probe_set, predictions: Sequence[Iterable[Entity]], labels: Sequence[str]) -> np.ndarray:
    """Span statistics (n_items, labels, 3) of a probe set's gold sentences against ``predictions``; predicted
    labels outside ``labels`` are dropped before counting (they are wrong either way, and would break the axis)."""
    allowed = set(labels)
    preds = [[e for e in p if e.label in allowed] for p in predictions]
    return span_stats(probe_set.sentences, preds, list(labels))


def score_coverage(probe_set, predictions, index, labels, n_resamples: int, seed: int) -> dict:
    """F1 with CI, recall and precision per stratum (``coverage.score_strata``), recall by consistency bin with CI."""
    from nerprobe.probes.coverage import consistency_bin, score_strata

    out = f1_with_ci(probe_span_stats(probe_set, predictions, labels), labels, n_resamples, seed)
    strata = score_strata(probe_set, predictions, index)
    by_stratum, by_bin = {}, {}
    outcomes: dict[str, list[bool]] = {}
    bins: dict[str, list[bool]] = {}
    for item, pred in zip(probe_set.items, predictions):
        pset = {(e.start, e.end, e.label) for e in pred}
        for f in item.meta["entities"]:
            ok = (f["start"], f["end"], f["label"]) in pset
            outcomes.setdefault(f["stratum"], []).append(ok)
            bins.setdefault(consistency_bin(f["consistency"]), []).append(ok)
    for k, st in strata.items():
        by_stratum[k] = {"gold": st.gold, "recall": rate_with_ci(outcomes.get(k, []), n_resamples, seed),
                         "predicted": st.predicted, "precision": st.precision}
    for k in sorted(bins):
        by_bin[k] = rate_with_ci(bins[k], n_resamples, seed)
    out["strata"] = by_stratum
    out["recall_by_consistency"] = by_bin
    return out


def score_type_swaps(probe_set, predictions, n_resamples: int, seed: int) -> dict:
    """Counts of ``context``/``memory``/``other``/``missed`` outcomes and the context/memory rates with CIs."""
    from nerprobe.probes.swapped_labels import swap_outcome

    outcomes = [swap_outcome(it, p) for it, p in zip(probe_set.items, predictions)]
    counts = Counter(outcomes)
    return {
        "n": len(outcomes),
        "counts": {k: counts.get(k, 0) for k in ("context", "memory", "other", "missed")},
        "context_following": rate_with_ci([o == "context" for o in outcomes], n_resamples, seed),
        "memory_following": rate_with_ci([o == "memory" for o in outcomes], n_resamples, seed),
    }


def pair_lookup_outcomes(probe_set, predictions) -> dict[tuple[str, str], list[bool]]:
    """Correctness per (group, mode) of the pair-lookup items, in item order."""
    from nerprobe.probes.pair_lookup import lookup_correct

    out: dict[tuple[str, str], list[bool]] = {}
    for it, p in zip(probe_set.items, predictions):
        out.setdefault((it.meta["group"], it.meta["mode"]), []).append(lookup_correct(it, p))
    return out


def score_pair_lookup(probe_set, predictions, n_resamples: int, seed: int) -> dict:
    """Accuracy alone and in context for the ``train`` and ``heldout`` groups, each with a CI, and the gain."""
    groups = pair_lookup_outcomes(probe_set, predictions)
    out = {f"{g}_{m}": rate_with_ci(groups.get((g, m), []), n_resamples, seed)
           for g in ("train", "heldout") for m in ("alone", "in_context")}
    out["pair_lookup_gain"] = out["train_alone"]["estimate"] - out["heldout_alone"]["estimate"]
    return out


def score_probe(probe_set, predictions, labels, index, n_resamples: int = 1000, seed: int = 0) -> dict:
    """The scores of one probe set for one predictor, by the probe's kind (see the functions above)."""
    name = probe_set.name
    if name == "coverage":
        return score_coverage(probe_set, predictions, index, labels, n_resamples, seed)
    if name == "type-swaps":
        return score_type_swaps(probe_set, predictions, n_resamples, seed)
    if name == "pair-lookup":
        return score_pair_lookup(probe_set, predictions, n_resamples, seed)
    return f1_with_ci(probe_span_stats(probe_set, predictions, labels), labels, n_resamples, seed)


# -- memorization summary --------------------------------------------------------------------------------------
def indicators(scores: dict, comparisons: Sequence[dict], predictor: str) -> dict:
    """The memorization indicators of one predictor from its per-probe ``scores`` and the comparisons."""
    out: dict = {}
    drop = next((c for c in comparisons if c["kind"] == "original_vs_unseen" and c.get("predictor") == predictor),
                None)
    if drop is not None:
        lo, hi = drop["ci_difference"]
        out["f1_drop"] = {"estimate": -drop["difference"], "low": -hi, "high": -lo}
    if "type-swaps" in scores:
        out["memory_following"] = scores["type-swaps"]["memory_following"]
        out["context_following"] = scores["type-swaps"]["context_following"]
    if "pair-lookup" in scores:
        pl = scores["pair-lookup"]
        out["pair_lookup_gain"] = {"estimate": pl["pair_lookup_gain"]}
        out["pair_lookup_accuracy"] = pl["train_alone"]
        out["in_context_accuracy"] = pl["train_in_context"]
    return out


def position(value: float, memorizer: float, context: float) -> float | None:
    """Where ``value`` sits from the context end (0) to the memorizer end (1); None when the ends coincide."""
    span = memorizer - context
    if abs(span) < 1e-9:
        return None
    return (value - context) / span


def memorization_summary(by_predictor: dict[str, dict], memorizer: str, context: str | None) -> dict:
    """Per predictor: its indicators (with CIs) and its ``position`` between the ends on each indicator, plus the
    mean position over the indicators that have one."""
    summary = {}
    mem = by_predictor.get(memorizer, {})
    ctx = by_predictor.get(context, {}) if context else {}
    for name, ind in by_predictor.items():
        pos = {}
        for key in INDICATORS:
            if key in ind and key in mem:
                end_c = ctx[key]["estimate"] if key in ctx else 0.0
                pos[key] = position(ind[key]["estimate"], mem[key]["estimate"], end_c)
        known = [v for v in pos.values() if v is not None]
        summary[name] = {**ind, "position": pos, "mean_position": float(np.mean(known)) if known else None}
    return summary


def regression_rows(coverage_set, coverage_preds, unseen_set=None, unseen_preds=None) -> list[dict]:
    """Per-entity rows for ``regression.entity_logit``: the original test mentions (seen or not, consistency from
    the coverage facts) and, when given, the mentions of the unseen-entities set (unseen, consistency 0)."""
    rows = []
    for it, p in zip(coverage_set.items, coverage_preds):
        pset = {(e.start, e.end, e.label) for e in p}
        for f in it.meta["entities"]:
            rows.append({"correct": (f["start"], f["end"], f["label"]) in pset, "seen": f["stratum"] != "unseen",
                         "consistency": f["consistency"], "label": f["label"], "n_tokens": f["n_tokens"]})
    if unseen_set is not None:
        for it, p in zip(unseen_set.items, unseen_preds):
            pset = {(e.start, e.end, e.label) for e in p}
            replaced = {ch.new for ch in it.changes if ch.how in ("pool", "faker")}
            for e in it.sentence.entities:
                if e in replaced:
                    rows.append({"correct": (e.start, e.end, e.label) in pset, "seen": False, "consistency": None,
                                 "label": e.label, "n_tokens": len(it.sentence.surface(e).split())})
    return rows
