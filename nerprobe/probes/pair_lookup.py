"""The ``pair-lookup`` probe: entity–label lookups without context.

Each sampled training entity (one per normalized surface, labelled with its majority training label) is presented
alone, as a one-entity "sentence", and also in context (the training sentence where it first carries that label).
A held-out group does the same with test mentions that training never saw. Accuracy alone against the label, beside
accuracy in context on the same entities, shows whether the model answers from the pair or from the sentence.
"""

from __future__ import annotations

import random
from typing import Callable, Iterable

from nerprobe.data.model import Entity, Sentence
from nerprobe.probes.base import Change, ProbeItem, ProbeSet, make_sentence
from nerprobe.probes.coverage import MentionIndex

ALONE, IN_CONTEXT = "alone", "in_context"
TRAIN, HELDOUT = "train", "heldout"


def _candidates(sentences: Iterable[Sentence], index: MentionIndex, want_seen: bool):
    """One ``(sentence, entity)`` per normalized surface: for seen ones the first occurrence with the majority
    training label; for unseen ones the first occurrence."""
    out: dict[str, tuple[Sentence, Entity]] = {}
    for s in sentences:
        for e in s.entities:
            surface = s.surface(e)
            key = index.normalize(surface)
            if not key or key in out or (key in index.counts) != want_seen:
                continue
            if want_seen and index.majority_label(surface) != e.label:
                continue
            if surface != surface.strip():
                continue
            out[key] = (s, e)
    return [out[k] for k in sorted(out)]


def build_pair_lookup(
    train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0, *, n_train: int = 500,
    n_heldout: int = 500, normalize: str | Callable[[str], str] | None = None, index: MentionIndex | None = None,
) -> ProbeSet:
    """The ``pair-lookup`` set: for each sampled pair two items, ``alone`` and ``in_context`` (``meta["mode"]``),
    sharing ``meta["pair"]``; ``meta["group"]`` is ``train`` or ``heldout``, ``meta["span"]`` the entity's offsets
    in the item's sentence and ``meta["label"]`` the label it should get. ``n_train``/``n_heldout`` cap the
    samples (None takes all)."""
    train = list(train)
    index = index or MentionIndex(train, normalize)
    rng = random.Random(seed)
    items: list[ProbeItem] = []
    counts = {}
    for group, sentences, n, seen in ((TRAIN, train, n_train, True), (HELDOUT, list(test), n_heldout, False)):
        cands = _candidates(sentences, index, seen)
        if n is not None and len(cands) > n:
            cands = [cands[i] for i in sorted(rng.sample(range(len(cands)), n))]
        counts[group] = len(cands)
        for k, (s, e) in enumerate(cands):
            pair = f"{group}-{k}"
            surface = s.surface(e)
            alone_ent = Entity(0, len(surface), e.label)
            alone = make_sentence(f"{pair}#alone", surface, (alone_ent,))
            meta = {"group": group, "pair": pair, "label": e.label, "text": surface,
                    "consistency": index.consistency(surface, e.label)}
            items.append(ProbeItem(alone.id, s.id, alone,
                                   (Change(e, surface, alone_ent, surface, ALONE),),
                                   {**meta, "mode": ALONE, "span": [0, len(surface)]}))
            ctx = Sentence(f"{pair}#context", s.text, s.tokens, s.entities, s.doc_id)
            items.append(ProbeItem(ctx.id, s.id, ctx, (), {**meta, "mode": IN_CONTEXT, "span": [e.start, e.end]}))
    problems = [] if counts[HELDOUT] else ["no held-out mention unseen in training: the held-out group is empty"]
    return ProbeSet("pair-lookup", seed, items, {"n_train": n_train, "n_heldout": n_heldout, "sampled": counts},
                    problems)


def lookup_correct(item: ProbeItem, predicted: Iterable[Entity]) -> bool:
    """True when the prediction labels the item's entity span with its expected label."""
    a, b = item.meta["span"]
    return any((e.start, e.end, e.label) == (a, b, item.meta["label"]) for e in predicted)
