"""Per-unit statistics of the memorization indicators, from a probe's sets and one predictor's predictions.

Each function returns ``analysis.indicators.UnitStats``: a (units, k) count array, the function of its column sums
that gives the indicator, and the support it is conditioned on (an indicator with too little support is ``n/a``).
Definitions (the memory end is the high end of each; DESIGN.md "Validity"):

- ``seen_unseen_gap`` (coverage; units: test sentences): recall of gold mentions seen in training minus recall of
  unseen ones, conditioned on the gold mentions the predictor found.
- ``unseen_drop`` / ``seen_drop`` (units: original sentences of the replacement sets): F1 lost when every
  replaceable entity is replaced by an unseen name / by another training entity of the same type and shape,
  relative to the predictor's own F1 on the originals: ``(F1_orig - F1_repl) / F1_orig``.
- ``replacement_memory_effect``: ``unseen_drop - seen_drop = (F1_seen - F1_unseen) / F1_orig``, the difference in
  differences that removes the cost of replacement itself. It exceeds 1 when the seen replacements score higher
  than the originals (the lookup memorizer on a corpus with many unseen test mentions). Conditioned on the
  originals' entities the predictor found.
- ``memory_share`` (type swaps; units: items): memorized label / (memorized + context label) among the swapped
  spans the predictor labelled with either.
- ``lookup_gain_alone`` / ``lookup_gain_in_context`` (pair lookup; units: matched pairs): accuracy on the
  training member minus accuracy on its matched held-out member, the name alone / in a sentence the model was not
  trained on; conditioned on the spans the predictor labelled at all. ``sentence_recall``: accuracy on training
  entities in their own training sentence (recall of the sentence, not a lookup).
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from nerprobe.analysis.indicators import UnitStats, f1_of, safe_ratio
from nerprobe.analysis.spans import span_stats
from nerprobe.data.model import Entity
from nerprobe.probes.swapped_labels import swap_outcome


def labels_for(probe_sets: Iterable, predictions: Iterable[Sequence[Iterable[Entity]]]) -> list[str]:
    """Every label of the sets' gold and of the predictions: the label axis of span statistics (an invented label
    is a false positive on its own row, never dropped)."""
    out = {e.label for ps in probe_sets for s in ps.sentences for e in s.entities}
    out |= {e.label for preds in predictions for p in preds for e in p}
    return sorted(out)


def micro_counts(probe_set, predictions, labels: Sequence[str], match: str = "exact") -> np.ndarray:
    """Per item ``[tp, n_pred, n_gold]`` summed over labels: an int64 array (n_items, 3)."""
    if not len(probe_set.items):
        return np.zeros((0, 3), dtype=np.int64)
    return span_stats(probe_set.sentences, predictions, list(labels), match=match).sum(axis=1)


# -- coverage ----------------------------------------------------------------------------------------------------
def seen_unseen_units(coverage, predictions) -> UnitStats:
    """``seen_unseen_gap`` per test sentence: ``[found seen, gold seen, found unseen, gold unseen]``."""
    rows = np.zeros((len(coverage.items), 4), dtype=np.int64)
    for i, (item, pred) in enumerate(zip(coverage.items, predictions, strict=True)):
        pset = {(e.start, e.end, e.label) for e in pred}
        for f in item.meta["entities"]:
            col = 2 if f["stratum"] == "unseen" else 0
            rows[i, col] += (f["start"], f["end"], f["label"]) in pset
            rows[i, col + 1] += 1
    tot = rows.sum(axis=0)
    reason = None
    if min(tot[1], tot[3]) == 0:
        reason = "the test set has no " + ("seen" if tot[1] == 0 else "unseen") + " mention"
    return UnitStats(rows, _gap, int(tot[0] + tot[2]), "gold mentions found", "seen-unseen-gap", reason)


def _gap(t):
    return safe_ratio(t[..., 0], t[..., 1]) - safe_ratio(t[..., 2], t[..., 3])


# -- replacements ------------------------------------------------------------------------------------------------
def replacement_units(coverage, unseen, seen, preds_cov, preds_unseen, preds_seen, labels: Sequence[str],
                      match: str = "exact") -> dict[str, UnitStats]:
    """``unseen_drop``, ``seen_drop`` and ``replacement_memory_effect`` over the original sentences of the two
    aligned replacement sets: per original ``[tp, pred, gold]`` of the original, the unseen and the seen version."""
    pos = {it.id: i for i, it in enumerate(coverage.items)}
    missing = [it.original_id for it in unseen.items if it.original_id not in pos]
    if missing:
        raise ValueError(f"unseen-entities item of {missing[0]} has no original in the coverage set")
    if [it.original_id for it in unseen.items] != [it.original_id for it in seen.items]:
        raise ValueError("the unseen and seen replacement sets are not aligned item by item")
    order = [pos[it.original_id] for it in unseen.items]
    orig = micro_counts(coverage, preds_cov, labels, match)[order] if order else np.zeros((0, 3), dtype=np.int64)
    stats = np.concatenate([orig, micro_counts(unseen, preds_unseen, labels, match),
                            micro_counts(seen, preds_seen, labels, match)], axis=1)
    found = int(stats[:, 0].sum())
    on = "entities of the original sentences found"
    return {
        "unseen_drop": UnitStats(stats, _unseen_drop, found, on, "unseen-drop"),
        "seen_drop": UnitStats(stats, _seen_drop, found, on, "seen-drop"),
        "replacement_memory_effect": UnitStats(stats, _did, found, on, "replacement-memory-effect"),
    }


def _f1s(t):
    return (f1_of(t[..., 0], t[..., 1], t[..., 2]), f1_of(t[..., 3], t[..., 4], t[..., 5]),
            f1_of(t[..., 6], t[..., 7], t[..., 8]))


def _unseen_drop(t):
    o, u, _ = _f1s(t)
    return safe_ratio(o - u, o)


def _seen_drop(t):
    o, _, s = _f1s(t)
    return safe_ratio(o - s, o)


def _did(t):
    o, u, s = _f1s(t)
    return safe_ratio(s - u, o)


# -- type swaps --------------------------------------------------------------------------------------------------
SWAP_OUTCOMES = ("context", "memory", "other", "missed")
"""What a prediction did with a swapped entity (``swapped_labels.swap_outcome``)."""


def swap_units(type_swaps, predictions) -> UnitStats:
    """``memory_share`` per item: ``[memory, context]`` outcome indicators."""
    rows = np.zeros((len(type_swaps.items), 2), dtype=np.int64)
    for i, (it, p) in enumerate(zip(type_swaps.items, predictions, strict=True)):
        o = swap_outcome(it, p)
        rows[i, 0], rows[i, 1] = o == "memory", o == "context"
    return UnitStats(rows, _share, int(rows.sum()), "swapped spans labelled with the context or memorized label",
                     "memory-share")


def _share(t):
    return safe_ratio(t[..., 0], t[..., 0] + t[..., 1])


def swap_counts(type_swaps, predictions) -> dict[str, int]:
    """How many items had each outcome (``SWAP_OUTCOMES``)."""
    c = Counter(swap_outcome(it, p) for it, p in zip(type_swaps.items, predictions))
    return {k: c.get(k, 0) for k in SWAP_OUTCOMES}


# -- pair lookup -------------------------------------------------------------------------------------------------
def lookup_cells(pair_lookup, predictions) -> dict[tuple[str, str], dict[str, tuple[bool, bool]]]:
    """``(group, mode) -> match id -> (correct, labelled)``: whether the item's span got its label, and whether it
    got any label."""
    out: dict[tuple[str, str], dict[str, tuple[bool, bool]]] = {}
    for it, p in zip(pair_lookup.items, predictions, strict=True):
        a, b = it.meta["span"]
        labels = {e.label for e in p if (e.start, e.end) == (a, b)}
        key = str(it.meta.get("match", it.meta.get("pair")))
        out.setdefault((it.meta["group"], it.meta["mode"]), {})[key] = (it.meta["label"] in labels, bool(labels))
    return out


def lookup_units(pair_lookup, predictions) -> dict[str, UnitStats]:
    """``lookup_gain_alone``, ``lookup_gain_in_context`` (units: matched pairs, ``[train correct, train labelled,
    heldout correct, heldout labelled, 1]``) and ``sentence_recall`` (units: training members, ``[correct, 1]``)."""
    cells = lookup_cells(pair_lookup, predictions)
    out = {}
    for mode in ("alone", "in_context"):
        train, held = cells.get(("train", mode), {}), cells.get(("heldout", mode), {})
        keys = sorted(set(train) & set(held))
        rows = np.array([[int(train[k][0]), int(train[k][1]), int(held[k][0]), int(held[k][1]), 1] for k in keys],
                        dtype=np.int64).reshape(-1, 5)
        reason = None if keys else "no matched train/held-out pair"
        out[f"lookup_gain_{mode}"] = UnitStats(rows, _gain, int(rows[:, 1].sum() + rows[:, 3].sum()),
                                               "pair-lookup spans labelled", f"lookup-gain-{mode}".replace("_", "-"),
                                               reason)
    recall = cells.get(("train", "sentence_recall"), {})
    rows = np.array([[int(v[0]), 1] for _, v in sorted(recall.items())], dtype=np.int64).reshape(-1, 2)
    out["sentence_recall"] = UnitStats(rows, _accuracy, int(sum(v[1] for v in recall.values())),
                                       "training sentences with the entity labelled", "sentence-recall",
                                       None if len(rows) else "no sentence-recall items")
    return out


def _gain(t):
    return safe_ratio(t[..., 0] - t[..., 2], t[..., 4])


def _accuracy(t):
    return safe_ratio(t[..., 0], t[..., 1])
