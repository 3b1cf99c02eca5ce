"""Scores and statistics of the memorization probes.

Every figure is a fraction in [0, 1] with a percentile bootstrap CI (``nerprobe.analysis.significance``); a rate
(pair-lookup accuracy, context-following under type swaps) is scored as the recall of a one-label statistics array
(correct, 1, 1) per item, so the same vectorized bootstrap serves spans and rates.

Tests. The hypotheses are declared before anything is scored (``declared_family``): per probe set, the subject (the
tuned model; the lookup baseline when it runs alone) against its base and against each control (the lookup
baseline, the context-only control), and the subject's F1 drop from the original sentences to the unseen-entities
set. Nothing else is a test: comparisons between the controls, or between the base and a control, are not computed,
and the other predictors' F1 drops are estimates with CIs only (``in_family: false``, no p-value). Holm runs over
exactly the family (``holm_family``), and the number of resamples comes from its size
(``significance.resamples_for_family``).

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
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

import numpy as np

from nerprobe.analysis.significance import bootstrap_ci, holm, paired_bootstrap
from nerprobe.analysis.spans import prf, prf_arrays, span_stats
from nerprobe.data.model import Entity

INDICATORS = ("f1_drop", "memory_following", "pair_lookup_gain")
ALPHA = 0.05
"""Level of the declared family's tests (Holm) and of the resample rule."""


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
            seed: int, in_family: bool = True, **about) -> dict:
    """One paired comparison (b - a) as a JSON-ready dict; ``about`` is stored too.

    A comparison of the declared family carries its bootstrap ``p_value`` (and its ``p_value_method``); one outside
    it (``in_family=False``) is an estimate with a CI only, ``p_value`` None, so that no table can present it as a
    test."""
    r = paired_bootstrap(stats_a, stats_b, metric, n_resamples=n_resamples, seed=seed)
    out = {"name": name, "kind": kind, **about, "in_family": in_family, "metric": r.metric, "score_a": r.score_a,
           "score_b": r.score_b, "difference": r.difference, "ci_difference": list(r.ci_difference),
           "p_value": r.p_value if in_family else None, "n_items": r.n_items, "signature": r.signature}
    if in_family:
        out["p_value_method"] = r.p_value_method
    return out


@dataclass(frozen=True)
class Hypothesis:
    """One declared test of a memorization run: ``b`` against ``a`` on probe set ``probe`` (difference b - a)."""

    name: str
    kind: str  # "tuned_vs_base", "vs_control" or "original_vs_unseen"
    probe: str
    a: str
    b: str

    def to_dict(self) -> dict:
        """The hypothesis as a JSON-ready dict."""
        return asdict(self)


def declared_family(subject: str, probes: Sequence[str], base: str | None = None,
                    controls: Sequence[str] = ()) -> tuple[Hypothesis, ...]:
    """The family of a run, declared from its roles before anything is scored.

    Per probe set in ``probes``: ``subject`` vs ``base`` (kind ``tuned_vs_base``) and ``subject`` vs each of
    ``controls`` (``vs_control``); and, when ``coverage`` and ``unseen-entities`` both run, the subject's F1 on the
    unseen-entities set against the same sentences' original F1 (``original_vs_unseen``), the hypothesis that probe
    exists for. Returns the hypotheses in that order.
    """
    out = []
    for probe in probes:
        if base is not None:
            out.append(Hypothesis(f"{subject} vs {base}: {probe}", "tuned_vs_base", probe, base, subject))
        for control in controls:
            if control != subject:
                out.append(Hypothesis(f"{subject} vs {control}: {probe}", "vs_control", probe, control, subject))
    if "coverage" in probes and "unseen-entities" in probes:
        out.append(Hypothesis(f"{subject}: original vs unseen-entities", "original_vs_unseen", "unseen-entities",
                              subject, subject))
    return tuple(out)


def holm_family(comparisons: list[dict], alpha: float = 0.05) -> dict:
    """Holm-adjust the p-values of the comparisons in the family (``in_family``, default True) as one family, in
    place (``p_holm``, ``reject``); the others get neither. Returns ``n``, ``alpha``, ``method``, ``signature``."""
    tested = [c for c in comparisons if c.get("in_family", True)]
    if not tested:
        return {"n": 0, "alpha": alpha}
    res = holm([c["p_value"] for c in tested], alpha=alpha)
    for c, adj, rej in zip(tested, res.adjusted, res.reject):
        c["p_holm"] = float(adj)
        c["reject"] = bool(rej)
    return {"n": len(tested), "alpha": alpha, "method": res.method, "signature": res.signature}


# -- per-probe scoring -----------------------------------------------------------------------------------------
def probe_span_stats(probe_set, predictions: Sequence[Iterable[Entity]], labels: Sequence[str]) -> np.ndarray:
    """Span statistics (n_items, labels, 3) of a probe set's gold sentences against ``predictions``. Every
    predicted entity counts (``spans.span_stats``), so ``labels`` must hold every label predicted (``ValueError``
    otherwise): an invented label is a false positive on its own row, never dropped."""
    return span_stats(probe_set.sentences, predictions, list(labels))


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


def _cluster_ids(sentence, original_id: str) -> dict:
    return {"document": sentence.doc_id, "sentence": original_id}


def regression_rows(coverage_set, coverage_preds, unseen_set=None, unseen_preds=None) -> list[dict]:
    """Rows for ``regression.entity_logit``: one per (entity, condition).

    Condition ``original``: every gold mention of the coverage set (seen in training or not, consistency from the
    coverage facts). Condition ``unseen-replacement``: the same entity slot in the unseen-entities set, when the probe
    replaced its mention (unseen, consistency 0). ``entity`` names the slot (original sentence id, span, label) in
    both, so a replaced entity has exactly two rows; ``document`` (None when the corpus has none) and ``sentence``
    (the original sentence id) give the clusters.
    """
    rows = []
    where = {}
    for it, p in zip(coverage_set.items, coverage_preds):
        pset = {(e.start, e.end, e.label) for e in p}
        where[it.original_id] = _cluster_ids(it.sentence, it.original_id)
        for f in it.meta["entities"]:
            rows.append({"entity": f"{it.original_id}:{f['start']}-{f['end']}:{f['label']}", "condition": "original",
                         "correct": (f["start"], f["end"], f["label"]) in pset, "seen": f["stratum"] != "unseen",
                         "consistency": f["consistency"], "label": f["label"], "n_tokens": f["n_tokens"],
                         **where[it.original_id]})
    if unseen_set is not None:
        for it, p in zip(unseen_set.items, unseen_preds):
            pset = {(e.start, e.end, e.label) for e in p}
            ids = where.get(it.original_id) or _cluster_ids(it.sentence, it.original_id)
            done = set()
            for ch in it.changes:
                if ch.how not in ("pool", "faker") or ch.new is None or ch.original is None:
                    continue
                o, e = ch.original, ch.new
                entity = f"{it.original_id}:{o.start}-{o.end}:{o.label}"
                if entity in done:
                    continue
                done.add(entity)
                rows.append({"entity": entity, "condition": "unseen-replacement",
                             "correct": (e.start, e.end, e.label) in pset, "seen": False, "consistency": None,
                             "label": e.label, "n_tokens": len(it.sentence.surface(e).split()), **ids})
    return rows
