"""The ``pair-lookup`` probe: entity–label lookups, with and without context, for matched groups of names.

Two groups of names: ``train`` (training mentions, each with its majority training label, one per normalized
surface) and ``heldout`` (test mentions that training never saw). They are matched: every train name is paired with
a held-out name of the same label, token count and casing shape (``meta["match"]``), so the groups hold the same
number of names of every (label, n_tokens, shape) and a name-form reader scores them alike. Arms
(``meta["mode"]``):

- ``alone``: the name alone, as a one-entity "sentence";
- ``in_context``: the name put into a test sentence the model was not trained on, in place of an entity of the same
  label (and token count when there is one) in a sentence whose context can imply a type; both names of a matched
  pair get the same sentence, so their contexts are identical;
- ``sentence_recall`` (train group only): the training sentence where the name carries its label. A model that
  memorized whole sentences scores here; it is a different thing from reading context and is reported apart.

Accuracy alone on train names beside held-out names measures the pair lookup; ``in_context`` beside ``alone``
shows how much the sentence adds.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Callable, Iterable

from nerprobe.data.model import Entity, Sentence
from nerprobe.errors import InputError
from nerprobe.probes.base import Change, ProbeItem, ProbeSet, make_sentence
from nerprobe.probes.coverage import MentionIndex
from nerprobe.probes.rewrite import replace_spans
from nerprobe.probes.shape import casing_shape, key_name, n_tokens
from nerprobe.probes.swapped_labels import context_problem, swappable_spans

ALONE, IN_CONTEXT, SENTENCE_RECALL = "alone", "in_context", "sentence_recall"
MODES = (ALONE, IN_CONTEXT, SENTENCE_RECALL)
TRAIN, HELDOUT = "train", "heldout"


def match_key(surface: str, label: str) -> tuple[str, int, str]:
    """What matched names share: ``(label, n_tokens, casing_shape)``."""
    return label, n_tokens(surface), casing_shape(surface)


def _candidates(sentences: Iterable[Sentence], index: MentionIndex, want_seen: bool):
    """One ``(sentence, entity)`` per normalized surface, sorted by it: for seen ones the first occurrence with the
    majority training label; for unseen ones the first occurrence."""
    out: dict[str, tuple[Sentence, Entity]] = {}
    for s in sentences:
        for e in s.entities:
            surface = s.surface(e)
            key = index.normalize(surface)
            if not key or key in out or (key in index.counts) != want_seen or surface != surface.strip():
                continue
            if want_seen and index.majority_label(surface) != e.label:
                continue
            out[key] = (s, e)
    return [out[k] for k in sorted(out)]


def _by_key(cands) -> dict[tuple, list]:
    out: dict[tuple, list] = defaultdict(list)
    for s, e in cands:
        out[match_key(s.surface(e), e.label)].append((s, e))
    return out


def matched_pairs(train_cands, heldout_cands, rng: random.Random, n: int | None) -> list[tuple]:
    """``[(key, (train sentence, entity), (heldout sentence, entity)), ...]``: within each key, both lists shuffled
    and zipped (the shorter decides how many); then at most ``n`` pairs sampled (key order, then draw order)."""
    tr, ho = _by_key(train_cands), _by_key(heldout_cands)
    pairs = []
    for key in sorted(set(tr) & set(ho)):
        a, b = list(tr[key]), list(ho[key])
        rng.shuffle(a)
        rng.shuffle(b)
        pairs.extend((key, x, y) for x, y in zip(a, b))
    if n is not None and len(pairs) > n:
        pairs = [pairs[i] for i in sorted(rng.sample(range(len(pairs)), n))]
    return pairs


class Contexts:
    """Test sentences that can carry a name: a swappable span (``swappable_spans``) in a sentence whose context can
    imply a type, by (label, token count) and by label."""

    def __init__(self, test: Iterable[Sentence], min_context: int):
        self.by_len: dict[tuple[str, int], list] = defaultdict(list)
        self.by_label: dict[str, list] = defaultdict(list)
        for s in test:
            if not s.entities or context_problem(s, min_context):
                continue
            for a, b in swappable_spans(s):
                label = next(e.label for e in s.entities if e.span == (a, b))
                self.by_len[(label, n_tokens(s.text[a:b]))].append((s, (a, b)))
                self.by_label[label].append((s, (a, b)))

    def draw(self, label: str, n_tok: int, avoid: set[str], rng: random.Random):
        """``(sentence, span, same_length)`` of a context for a name, not from a sentence in ``avoid``; None if
        there is none."""
        for same, cands in ((True, self.by_len.get((label, n_tok), ())), (False, self.by_label.get(label, ()))):
            ok = [c for c in cands if c[0].id not in avoid]
            if ok:
                s, span = ok[rng.randrange(len(ok))]
                return s, span, same
        return None


def build_pair_lookup(
    train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0, *, n_train: int | None = 500,
    n_heldout: int | None = 500, min_context: int = 3, normalize: str | Callable[[str], str] | None = None,
    index: MentionIndex | None = None,
) -> ProbeSet:
    """The ``pair-lookup`` set of matched name pairs (module docstring).

    At most ``min(n_train, n_heldout)`` pairs (None: no cap), so both groups have the same size. ``meta`` of every
    item: ``group``, ``mode``, ``pair`` (``<group>-<k>``: the name's items), ``match`` (``m-<k>``: the pair),
    ``label``, ``text``, ``span`` (the name's offsets in the item's sentence), ``shape``, ``n_tokens``,
    ``consistency``; in-context items also ``context_same_length``. ``params``: ``sampled`` per group, ``keys``
    (pairs per match key), ``unmatched`` (candidates per group left without a partner), ``no_context`` (pairs
    without an in-context arm), ``context_other_length``.
    """
    for name, v in (("n_train", n_train), ("n_heldout", n_heldout)):
        if v is not None and v < 0:
            raise InputError(None, None, f"{name} must be >= 0, got {v}", field=name)
    train, test = list(train), list(test)
    index = index or MentionIndex(train, normalize)
    rng = random.Random(seed)
    train_cands, heldout_cands = _candidates(train, index, True), _candidates(test, index, False)
    caps = [v for v in (n_train, n_heldout) if v is not None]
    pairs = matched_pairs(train_cands, heldout_cands, rng, min(caps) if caps else None)
    contexts = Contexts(test, min_context)
    items: list[ProbeItem] = []
    stats: Counter = Counter()
    for k, (key, tr, ho) in enumerate(pairs):
        ctx = contexts.draw(key[0], key[1], {ho[0].id}, rng)
        stats["no_context" if ctx is None else "context_other_length" if not ctx[2] else "context_same_length"] += 1
        for group, (s, e) in ((TRAIN, tr), (HELDOUT, ho)):
            items.extend(_name_items(group, k, s, e, ctx, index))
    params = {"n_train": n_train, "n_heldout": n_heldout, "min_context": min_context,
              "sampled": {TRAIN: len(pairs), HELDOUT: len(pairs)},
              "keys": dict(sorted(Counter(key_name(p[0]) for p in pairs).items())),
              "unmatched": {TRAIN: len(train_cands) - len(pairs), HELDOUT: len(heldout_cands) - len(pairs)},
              "no_context": stats["no_context"], "context_other_length": stats["context_other_length"]}
    problems = []
    if not heldout_cands:
        problems.append("no held-out mention unseen in training: the held-out group is empty")
    elif not pairs:
        problems.append("no held-out mention matches a training mention on label, token count and casing shape")
    if stats["no_context"]:
        problems.append(f"{stats['no_context']} pair(s) have no in-context arm: no test sentence with enough "
                        "context holds an entity of their label")
    return ProbeSet("pair-lookup", seed, items, params, problems)


def _name_items(group: str, k: int, s: Sentence, e: Entity, ctx, index: MentionIndex) -> list[ProbeItem]:
    """The items of one name: alone, in context (when ``ctx``), and for the train group the sentence recall."""
    pair = f"{group}-{k}"
    surface = s.surface(e)
    meta = {"group": group, "pair": pair, "match": f"m-{k}", "label": e.label, "text": surface,
            "shape": casing_shape(surface), "n_tokens": n_tokens(surface),
            "consistency": index.consistency(surface, e.label)}
    alone_ent = Entity(0, len(surface), e.label)
    alone = make_sentence(f"{pair}#alone", surface, (alone_ent,))
    out = [ProbeItem(alone.id, s.id, alone, (Change(e, surface, alone_ent, surface, ALONE),),
                     {**meta, "mode": ALONE, "span": [0, len(surface)]})]
    if ctx is not None:
        cs, span, same = ctx
        new, moved = replace_spans(cs, {span: surface}, f"{pair}#context")
        old, target = next((o, n) for o, n in moved if o.span == span)
        change = Change(old, cs.surface(old), target, surface, IN_CONTEXT, s.id)
        out.append(ProbeItem(new.id, cs.id, new, (change,),
                             {**meta, "mode": IN_CONTEXT, "span": [target.start, target.end],
                              "context_same_length": same}))
    if group == TRAIN:
        recall = Sentence(f"{pair}#recall", s.text, s.tokens, s.entities, s.doc_id)
        out.append(ProbeItem(recall.id, s.id, recall, (), {**meta, "mode": SENTENCE_RECALL,
                                                            "span": [e.start, e.end]}))
    return out


def span_labels(item: ProbeItem, predicted: Iterable[Entity]) -> set[str]:
    """The labels a prediction gives exactly the item's span (``meta["span"]``)."""
    a, b = item.meta["span"]
    return {e.label for e in predicted if (e.start, e.end) == (a, b)}


def lookup_correct(item: ProbeItem, predicted: Iterable[Entity]) -> bool:
    """True when the prediction labels the item's entity span with its expected label."""
    return item.meta["label"] in span_labels(item, predicted)
