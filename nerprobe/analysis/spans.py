"""Exact-match span scoring from per-sentence sufficient statistics.

Every sentence contributes, for each label, three counts: true positives (predicted spans that are also gold spans
with the same label), predicted spans and gold spans. Micro/macro/per-type precision, recall and F1 are functions of
the *summed* counts, so bootstrap and randomization tests (``nerprobe.analysis.significance``) only resample rows
of this array, as sacreBLEU does with its statistics.

Gold entities are sets of ``(start, end, label)``; one span carrying two labels counts as two entities. Every
predicted entity counts (``span_stats``): repeats and predictions that have no place in the text are false
positives. On flat BIO data the numbers equal seqeval's default (conlleval) mode.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from nerprobe.data.model import Entity, Sentence

TP, PRED, GOLD = 0, 1, 2
"""Indices of the last axis of a statistics array."""


def labels_of(gold: Sequence[Sentence], *preds: Sequence[Iterable[Entity]]) -> list[str]:
    """The sorted union of labels used by the gold sentences and by any number of prediction lists."""
    found = {e.label for s in gold for e in s.entities}
    for pred in preds:
        found.update(e.label for ents in pred for e in ents)
    return sorted(found)


MATCHES = ("exact", "text")
"""How a prediction matches gold: ``exact`` spans and label; ``text``: per sentence, the multiset of
(text, label), for outputs that carry no positions (grouped JSON)."""


def _keys(sentence: Sentence, entities: Iterable[Entity], match: str) -> list[tuple]:
    """The match keys of ``entities`` on ``sentence`` (label last), one per entity; an unplaced prediction
    (negative offsets) gets a key of its own that matches nothing."""
    if match == "exact":
        return [(e.start, e.end, e.label) for e in entities]
    text = sentence.text
    return [(text[e.start : e.end], e.label) if e.start >= 0 else (e.start, e.label) for e in entities]


def _matched(gold_keys: list[tuple], pred_keys: list[tuple]) -> list[tuple]:
    """The keys of the true positives: the multiset intersection (each key as often as both sides have it)."""
    gold_set, pred_set = set(gold_keys), set(pred_keys)
    if len(gold_set) == len(gold_keys) and len(pred_set) == len(pred_keys):  # no repeats: plain sets (fast path)
        return list(gold_set & pred_set)
    return list((Counter(gold_keys) & Counter(pred_keys)).elements())


def span_stats(
    gold: Sequence[Sentence],
    pred: Sequence[Iterable[Entity]],
    labels: Sequence[str] | None = None,
    match: str = "exact",
) -> np.ndarray:
    """Per-sentence, per-label counts ``[tp, n_pred, n_gold]``: an int64 array of shape (n_sentences, n_labels, 3).

    ``gold`` and ``pred`` pair by position (``pred[i]`` are the entities predicted for ``gold[i]``). Every predicted
    entity counts: a repeat of a predicted span is one more prediction (a false positive beyond the gold's
    multiplicity), and an unplaced prediction (negative offsets, see ``formats.base.unplaced_entity``) is a false
    positive of its label. ``match`` is ``exact`` (span and label) or ``text`` (multiset of (text, label) per
    sentence). ``labels`` fixes the label axis; None uses the union of gold and predicted labels (so a predicted
    label unknown to gold counts as a false positive on its own row). Raises ``ValueError`` when the lengths differ
    or when an entity carries a label outside an explicit ``labels``.
    """
    if match not in MATCHES:
        raise ValueError(f"unknown match {match!r}; use one of {', '.join(MATCHES)}")
    pred = [tuple(p) for p in pred]
    if len(gold) != len(pred):
        raise ValueError(f"{len(pred)} predictions for {len(gold)} gold sentences")
    if labels is None:
        labels = labels_of(gold, pred)
    index = {label: i for i, label in enumerate(labels)}
    width = 3 * len(labels)
    cells: list[int] = []  # flat cell numbers (row * n_labels + label) * 3 + column, one per count, for bincount
    try:
        for row, (sentence, predicted) in enumerate(zip(gold, pred)):
            base = row * width
            gold_keys = _keys(sentence, sentence.entities, match)
            pred_keys = _keys(sentence, predicted, match)
            cells += [base + 3 * index[k[-1]] + GOLD for k in gold_keys]
            cells += [base + 3 * index[k[-1]] + PRED for k in pred_keys]
            if gold_keys and pred_keys:
                cells += [base + 3 * index[k[-1]] + TP for k in _matched(gold_keys, pred_keys)]
    except KeyError as err:
        raise ValueError(f"label {err.args[0]!r} is not among the labels scored ({', '.join(labels)})") from None
    counts = np.bincount(np.asarray(cells, dtype=np.int64), minlength=len(gold) * width)
    return counts.astype(np.int64).reshape(len(gold), len(labels), 3)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den elementwise, 0 where den is 0 (seqeval's zero_division behaviour, without the warning)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den > 0)
    return out


def prf_arrays(totals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 from summed counts ``totals[..., 3]`` (any leading shape; 0 where undefined)."""
    tp, n_pred, n_gold = totals[..., TP], totals[..., PRED], totals[..., GOLD]
    p = _ratio(tp, n_pred)
    r = _ratio(tp, n_gold)
    f = _ratio(2 * tp, n_pred + n_gold)  # = 2PR/(P+R), and 0 when there is no true positive
    return p, r, f


def micro_f1(totals: np.ndarray) -> np.ndarray:
    """Micro F1 (in [0, 1]) from summed counts of shape (..., n_labels, 3); vectorized over leading axes."""
    return prf_arrays(totals.sum(axis=-2))[2]


def macro_f1(totals: np.ndarray) -> np.ndarray:
    """Macro F1 (mean of per-label F1, as seqeval's macro avg) from summed counts (..., n_labels, 3)."""
    return prf_arrays(totals)[2].mean(axis=-1)


METRICS = {"micro-f1": micro_f1, "macro-f1": macro_f1}
"""Vectorized metrics by name: each maps summed counts (..., n_labels, 3) to scores (...)."""


def prf(stats: np.ndarray, labels: Sequence[str]) -> dict:
    """Micro, macro and per-type precision/recall/F1 (fractions in [0, 1]) with their counts.

    ``stats`` is a (n_sentences, n_labels, 3) array from ``span_stats`` (or its sum over sentences). Returns
    ``{"micro": {...}, "macro": {...}, "per_type": {label: {...}}}`` where each entry has ``precision``,
    ``recall``, ``f1`` and (micro and per type) ``tp``, ``n_pred``, ``n_gold``. Macro averages the per-type
    precision, recall and F1 over ``labels`` (seqeval's "macro avg").
    """
    stats = np.asarray(stats)
    totals = stats.sum(axis=0) if stats.ndim == 3 else stats
    if totals.shape != (len(labels), 3):
        raise ValueError(f"statistics of shape {stats.shape} do not match {len(labels)} labels")
    p, r, f = prf_arrays(totals)
    per_type = {
        label: {
            "precision": float(p[i]),
            "recall": float(r[i]),
            "f1": float(f[i]),
            "tp": int(totals[i, TP]),
            "n_pred": int(totals[i, PRED]),
            "n_gold": int(totals[i, GOLD]),
        }
        for i, label in enumerate(labels)
    }
    all_counts = totals.sum(axis=0)
    mp, mr, mf = prf_arrays(all_counts)
    micro = {
        "precision": float(mp),
        "recall": float(mr),
        "f1": float(mf),
        "tp": int(all_counts[TP]),
        "n_pred": int(all_counts[PRED]),
        "n_gold": int(all_counts[GOLD]),
    }
    n = len(labels)
    macro = {
        "precision": float(p.mean()) if n else 0.0,
        "recall": float(r.mean()) if n else 0.0,
        "f1": float(f.mean()) if n else 0.0,
    }
    return {"micro": micro, "macro": macro, "per_type": per_type}


def score(
    gold: Sequence[Sentence], pred: Sequence[Iterable[Entity]], labels: Sequence[str] | None = None,
    match: str = "exact",
) -> dict:
    """``prf`` of ``span_stats``: one call from paired gold sentences and predicted entity lists."""
    pred = [tuple(p) for p in pred]
    if labels is None:
        labels = labels_of(gold, pred)
    return prf(span_stats(gold, pred, labels, match), list(labels))
