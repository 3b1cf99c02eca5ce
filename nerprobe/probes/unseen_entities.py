"""The ``unseen-entities`` probe and its control, ``seen-replacements``: the same test sentences with every entity
replaced, once by names training never saw and once by other training names.

A replacement changes one thing, the name's identity. It keeps the label, the token count, the casing shape and,
for MISC, the form class (``probes.shape.shape_key``). An unseen replacement also contains no training mention as a
contiguous token sub-span and does not occur in the training text as a token sequence (both under the index's
normalization). A seen replacement is a training mention whose majority training label is the span's label, and not
the original name. The two sets are aligned item by item (same ``original_id``s, same order, same spans), so the
memorization effect is the unseen drop minus the seen drop: the cost of replacing a name as such cancels.

Unseen names come from a pool of held-out mentions (by default the test set's own, those that meet the
constraints; ``pool`` may give, e.g., the dev set) or from Faker for person, location and organization names. A
sentence in which some span cannot be filled on either side, whose entities cross, or that gives one span two
labels, is dropped from both sets
(a half-replaced sentence is not a clean item); ``params["dropped"]`` counts why. Sentences without entities are
kept unchanged in both (they still count for precision). In nested corpora the innermost entities are replaced and
the enclosing ones keep consistent offsets (``rewrite``).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Iterable

from nerprobe.data.model import Sentence
from nerprobe.errors import InputError
from nerprobe.probes.base import Change, ProbeItem, ProbeSet
from nerprobe.probes.coverage import MentionIndex, TrainingText, training_subspans
from nerprobe.probes.rewrite import leaf_entities, replace_spans, replaceable_spans
from nerprobe.probes.shape import key_name, shape_key

SOURCES = ("auto", "pool", "faker")
"""``pool``: held-out mentions only; ``faker``: Faker only (PER/LOC/ORG); ``auto``: pool, then Faker when empty."""

UNSEEN_SET, SEEN_SET = "unseen-entities", "seen-replacements"
UNSEEN_HOWS = ("pool", "faker")
SEEN_HOW = "seen"
FAKER_TRIES = 60
DROP_REASONS = ("crossing_entity", "multi_label_span", "no_unseen_replacement", "no_seen_replacement")
"""Why a test sentence is left out of both replacement sets, checked in this order (each sentence counts once)."""

_FAKER_KINDS = {
    "per": "person", "person": "person", "persons": "person", "people": "person",
    "loc": "location", "location": "location", "gpe": "location", "place": "location",
    "org": "organization", "organization": "organization", "organisation": "organization",
    "company": "organization", "corporation": "organization",
}


def faker_kind(label: str) -> str | None:
    """``person``/``location``/``organization`` for a label name Faker can fill, else None."""
    return _FAKER_KINDS.get(label.casefold())


@dataclass
class TrainFacts:
    """What the constraints need to know about training: its mentions (``index``) and its text (``text``)."""

    index: MentionIndex
    text: TrainingText

    @classmethod
    def of(cls, train: Iterable[Sentence], normalize: str | Callable[[str], str] | None = None,
           index: MentionIndex | None = None) -> "TrainFacts":
        """The facts of a training corpus (``index`` reused when given; its normalization then wins)."""
        train = list(train)
        index = index or MentionIndex(train, normalize)
        return cls(index, TrainingText(train, index.normalize))


def unseen_problem(surface: str, facts: TrainFacts) -> str | None:
    """Why ``surface`` may not stand as an unseen name (``contains_training_mention``, ``in_training_text``), or
    None when it may."""
    if training_subspans(surface, facts.index):
        return "contains_training_mention"
    if surface in facts.text:
        return "in_training_text"
    return None


def _span_label(sentence: Sentence, span: tuple[int, int]) -> str:
    """The label a replaced span is matched on: the alphabetically first of its labels."""
    return min(e.label for e in sentence.entities if e.span == span)


class UnseenSource:
    """Unseen names by shape key, drawn deterministically for the given ``rng``."""

    def __init__(self, facts: TrainFacts, pool: Iterable[Sentence], source: str, rng: random.Random, seed: int):
        if source not in SOURCES:
            raise InputError(None, None, f"unknown source {source!r} (known: {', '.join(SOURCES)})",
                             field="replacement_source")
        self.facts, self.source, self.rng, self._seed = facts, source, rng, seed
        self.rejected: Counter = Counter()
        forms: dict[tuple, dict[str, tuple[str, str]]] = defaultdict(dict)
        if source != "faker":
            for s in pool:
                for e in s.entities:
                    surface = s.surface(e)
                    norm = facts.index.normalize(surface)
                    if not norm or surface != surface.strip() or norm in forms[shape_key(surface, e.label)]:
                        continue
                    why = unseen_problem(surface, facts)
                    if why:
                        self.rejected[why] += 1
                        continue
                    forms[shape_key(surface, e.label)][norm] = (surface, s.id)
        self.pool = {k: sorted(v.values()) for k, v in forms.items() if v}  # sorted: independent of set order
        self._faker = None

    def _fake(self, kind: str, key: tuple) -> str:
        """A Faker name of ``kind`` sized and cased for the shape ``key`` (persons: a last name for one token, first
        and last name for two; one-token organizations: a last name; ALL-CAPS and lower-case keys get the name
        upper- or lower-cased)."""
        if self._faker is None:
            from faker import Faker  # optional and slow to import: only when the pool runs dry

            self._faker = Faker("en_US")
            self._faker.seed_instance(self._seed)
        f, n_tok = self._faker, key[1]
        if kind == "person":
            name = f.last_name() if n_tok == 1 else f"{f.first_name()} {f.last_name()}" if n_tok == 2 else f.name()
        elif kind == "location":
            name = f.city() if self.rng.random() < 0.6 else f.country()
        else:
            name = f.last_name() if n_tok == 1 else f.company()  # one-word firms are mostly surnames (Ford, Siemens)
        name = " ".join(name.split())
        return name.upper() if key[2] == "upper" else name.lower() if key[2] == "lower" else name

    def draw(self, key: tuple, avoid: set[str]) -> tuple[str, str, str] | None:
        """``(surface, how, source)`` of an unseen name with shape ``key``, not in ``avoid``; None if none."""
        got = _pick(self.pool.get(key, ()), avoid, self.facts.index.normalize, self.rng)
        if got is not None:
            return got[0], "pool", got[1]
        kind = faker_kind(key[0])
        if self.source == "pool" or kind is None:
            return None
        for _ in range(FAKER_TRIES):
            surface = self._fake(kind, key)
            if (shape_key(surface, key[0]) == key and self.facts.index.normalize(surface) not in avoid
                    and unseen_problem(surface, self.facts) is None):
                return surface, "faker", f"faker:{kind}"
        return None


SEEN_MAX_COUNT = 2
"""Seen replacements are training names seen at most this often. Unseen names are rare by definition, and frequent
training names (countries, big clubs) are easier by form alone: on CoNLL-2003 the form-only control, which never saw a
training pair, lost 5.0 [2.0, 8.0] points more F1 to unseen than to seen replacements drawn from all training names,
and 1.5 [-1.7, 4.6] with names seen at most twice that hold no other training mention (the unseen names' own
constraint). Matched so, the difference in differences is memory, not form."""


class SeenSource:
    """Training names by shape key: one surface per normalized form whose majority training label is the key's,
    seen in training at most ``max_count`` times (``SEEN_MAX_COUNT``), holding no other training mention; for a
    shape that has none, any training name of the shape (counted in ``fell_back``)."""

    def __init__(self, train: Iterable[Sentence], index: MentionIndex, rng: random.Random,
                 max_count: int | None = SEEN_MAX_COUNT):
        self.index, self.rng = index, rng
        forms: dict[tuple, dict[str, tuple[str, str]]] = defaultdict(dict)
        frequent: dict[tuple, dict[str, tuple[str, str]]] = defaultdict(dict)
        majority: dict[str, str] = {}  # normalized form → its majority label, computed once per form
        for s in train:
            for e in s.entities:
                surface = s.surface(e)
                norm = index.normalize(surface)
                if norm not in majority:
                    majority[norm] = index.majority_label(surface) if norm else ""
                if not norm or surface != surface.strip() or majority[norm] != e.label:
                    continue
                key = shape_key(surface, e.label)
                frequent[key].setdefault(norm, (surface, s.id))
                if max_count is not None and sum(index.counts[norm].values()) > max_count:
                    continue
                if any(index.normalize(part) != norm for part in training_subspans(surface, index)):
                    continue  # as for unseen names: no other training mention inside it
                forms[key].setdefault(norm, (surface, s.id))
        self.pool = {k: sorted(v.values()) for k, v in forms.items()}
        # a shape with no rare name (the demo repeats every name) falls back to every training name of the shape
        self.fallback_pool = {k: sorted(v.values()) for k, v in frequent.items()}
        self.fell_back = 0

    def draw(self, key: tuple, avoid: set[str]) -> tuple[str, str, str] | None:
        """``(surface, "seen", source sentence id)`` of a training name with shape ``key``, not in ``avoid``."""
        got = _pick(self.pool.get(key, ()), avoid, self.index.normalize, self.rng)
        if got is None:
            got = _pick(self.fallback_pool.get(key, ()), avoid, self.index.normalize, self.rng)
            self.fell_back += got is not None
        return None if got is None else (got[0], SEEN_HOW, got[1])


def _pick(cands, avoid: set[str], normalize, rng: random.Random):
    """A random ``(surface, source)`` of ``cands`` whose normalized surface is not in ``avoid``, or None."""
    if not cands:
        return None
    for _ in range(20):
        c = cands[rng.randrange(len(cands))]
        if normalize(c[0]) not in avoid:
            return c
    rest = [c for c in cands if normalize(c[0]) not in avoid]
    return rest[rng.randrange(len(rest))] if rest else None


def _fill(sentence: Sentence, spans, draw, normalize) -> tuple[dict, dict, tuple | None]:
    """``(replacements, how, unfilled_key)`` for one side: each span's new text and ``(how, source)``; a repeated
    name of the same shape key (``Fibronectin`` and ``fibronectin`` differ in shape) gets the same new name;
    ``unfilled_key`` is the first shape key with no candidate (else None)."""
    replacements, how, chosen = {}, {}, {}
    avoid = {normalize(sentence.text[a:b]) for a, b in spans}
    for a, b in spans:
        surface, label = sentence.text[a:b], _span_label(sentence, (a, b))
        key = shape_key(surface, label)
        got = chosen.get((normalize(surface), key)) or draw(key, avoid)
        if got is None:
            return {}, {}, key
        chosen[(normalize(surface), key)] = got
        avoid.add(normalize(got[0]))
        replacements[(a, b)] = got[0]
        how[(a, b)] = (got[1], got[2])
    return replacements, how, None


def _item(sentence: Sentence, replacements: dict, how: dict, suffix: str) -> ProbeItem:
    new, pairs = replace_spans(sentence, replacements, f"{sentence.id}#{suffix}")
    changes = _changes(sentence, new, pairs, replacements, how)
    keys = sorted({key_name(shape_key(sentence.text[a:b], _span_label(sentence, (a, b)))) for a, b in replacements})
    return ProbeItem(new.id, sentence.id, new, changes, {"replaced": len(replacements), "keys": keys})


def build_replacement_sets(
    train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0, *,
    pool: Iterable[Sentence] | None = None, source: str = "auto",
    normalize: str | Callable[[str], str] | None = None, index: MentionIndex | None = None,
    facts: TrainFacts | None = None,
) -> tuple[ProbeSet, ProbeSet]:
    """``(unseen_set, seen_set)``: the ``unseen-entities`` and ``seen-replacements`` sets, aligned item by item.

    Items ``<orig>#unseen`` and ``<orig>#seen`` replace the same innermost spans of the same test sentence
    (``original_id``), with ``meta["replaced"]`` (spans replaced) and ``meta["keys"]`` (their shape keys). Each
    ``Change`` says ``how`` (``pool``/``faker`` for unseen names, ``seen`` for training names) and ``source`` (the
    sentence or generator the name came from). ``params["dropped"]`` counts the sentences left out of both sets
    (``DROP_REASONS``: entities that cross, a span with two labels, a span with no unseen or no seen name of its
    shape key; ``params["unfilled_keys"]`` gives those keys).
    """
    train, test = list(train), list(test)
    facts = facts or TrainFacts.of(train, normalize, index)
    norm = facts.index.normalize
    unseen_src = UnseenSource(facts, test if pool is None else pool, source, random.Random(seed), seed)
    seen_src = SeenSource(train, facts.index, random.Random(f"seen:{seed}"))
    unseen_items, seen_items = [], []
    dropped, unfilled = Counter(), Counter()
    n_empty = 0
    for s in test:
        if not s.entities:
            n_empty += 1
            unseen_items.append(ProbeItem(f"{s.id}#unseen", s.id, s, (), {"replaced": 0, "keys": []}))
            seen_items.append(ProbeItem(f"{s.id}#seen", s.id, s, (), {"replaced": 0, "keys": []}))
            continue
        spans, crossing = replaceable_spans(s)
        if crossing or not spans:
            dropped["crossing_entity"] += 1
            continue
        if len({e.span for e in s.entities}) < len(s.entities):  # one name, two labels: no seen name matches both
            dropped["multi_label_span"] += 1
            continue
        rep_u, how_u, key_u = _fill(s, spans, unseen_src.draw, norm)
        rep_s, how_s, key_s = ({}, {}, None) if key_u else _fill(s, spans, seen_src.draw, norm)
        if key_u or key_s:
            dropped["no_unseen_replacement" if key_u else "no_seen_replacement"] += 1
            unfilled[("unseen:" if key_u else "seen:") + key_name(key_u or key_s)] += 1
            continue
        unseen_items.append(_item(s, rep_u, how_u, "unseen"))
        seen_items.append(_item(s, rep_s, how_s, "seen"))
    params = {
        "source": source, "pool": "test" if pool is None else "given", "seen_max_count": SEEN_MAX_COUNT,
        "seen_fell_back_to_frequent": seen_src.fell_back,
        "pool_sizes": {"unseen": _sizes_by_label(unseen_src.pool), "seen": _sizes_by_label(seen_src.pool)},
        "pool_rejected": dict(sorted(unseen_src.rejected.items())),
        "sentences_without_entities": n_empty, "kept": len(unseen_items),
        "dropped": {k: dropped.get(k, 0) for k in DROP_REASONS},
        "unfilled_keys": dict(unfilled.most_common()),
    }
    problems = [f"{n} test sentence(s) dropped from both sets: {why.replace('_', ' ')}"
                for why, n in params["dropped"].items() if n]
    return (ProbeSet(UNSEEN_SET, seed, unseen_items, params, list(problems)),
            ProbeSet(SEEN_SET, seed, seen_items, params, list(problems)))


def _sizes_by_label(pool: dict) -> dict[str, int]:
    out: Counter = Counter()
    for key, forms in pool.items():
        out[key[0]] += len(forms)
    return dict(sorted(out.items()))


def build_unseen_entities(
    train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0, *,
    pool: Iterable[Sentence] | None = None, source: str = "auto",
    normalize: str | Callable[[str], str] | None = None, index: MentionIndex | None = None,
) -> ProbeSet:
    """The ``unseen-entities`` set alone (the first of ``build_replacement_sets``; same items, same drops)."""
    return build_replacement_sets(train, test, seed, pool=pool, source=source, normalize=normalize, index=index)[0]


def build_seen_replacements(
    train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0, *,
    pool: Iterable[Sentence] | None = None, source: str = "auto",
    normalize: str | Callable[[str], str] | None = None, index: MentionIndex | None = None,
) -> ProbeSet:
    """The ``seen-replacements`` control set alone (the second of ``build_replacement_sets``)."""
    return build_replacement_sets(train, test, seed, pool=pool, source=source, normalize=normalize, index=index)[1]


def _changes(original: Sentence, new: Sentence, pairs, replacements, how) -> tuple[Change, ...]:
    """One ``Change`` per entity of ``original`` whose text changed: replaced ones, and enclosing ones."""
    out = []
    for old, nw in pairs:
        if old.span in replacements:
            h, source = how[old.span]
            out.append(Change(old, original.surface(old), nw, new.surface(nw), h, source))
        elif original.surface(old) != new.surface(nw):
            out.append(Change(old, original.surface(old), nw, new.surface(nw), "enclosing"))
    return tuple(out)


# -- the checker -------------------------------------------------------------------------------------------------
def replacement_violations(train_or_facts, probe_set: ProbeSet) -> list[str]:
    """Every broken constraint of a replacement set, one line each (empty when the set is clean).

    ``train_or_facts`` is the training corpus (sentences) or its ``TrainFacts``. Checked per item: every innermost
    entity of the probe sentence was replaced (no half-replaced sentence); per replacement: the shape key
    (label, token count, casing shape, form class) is the original's; an unseen name (``pool``/``faker``) contains
    no training mention and is not in the training text; a seen name (``seen``) is a training mention whose
    majority label is the span's label, and not the original name.
    """
    facts = train_or_facts if isinstance(train_or_facts, TrainFacts) else TrainFacts.of(train_or_facts)
    out = []
    for it in probe_set.items:
        out.extend(f"{it.id}: {v}" for v in _item_violations(it, facts))
    return out


def _item_violations(item: ProbeItem, facts: TrainFacts) -> list[str]:
    """The broken constraints of one item (see ``replacement_violations``)."""
    out = []
    if item.sentence.entities and not item.meta.get("replaced"):
        out.append("an item with entities and no replacement")
    replaced = {ch.new.span for ch in item.changes if ch.new is not None and ch.how != "enclosing"}
    for e in leaf_entities(item.sentence):
        if e.span not in replaced:
            out.append(f"entity {item.sentence.surface(e)!r} ({e.label}) was not replaced")
    for ch in item.changes:
        if ch.how != "enclosing":
            out.extend(f"{ch.original_text!r} -> {ch.new_text!r}: {v}" for v in _change_violations(ch, facts))
    return out


def _change_violations(ch: Change, facts: TrainFacts) -> list[str]:
    """The broken constraints of one replacement."""
    old, new, label = ch.original_text, ch.new_text, ch.original.label
    out = []
    if ch.new.label != label or shape_key(old, label) != shape_key(new, label):
        out.append(f"shape {key_name(shape_key(old, label))} became {key_name(shape_key(new, ch.new.label))}")
    if ch.how in UNSEEN_HOWS:
        why = unseen_problem(new, facts)
        if why:
            subs = ", ".join(map(repr, training_subspans(new, facts.index)))
            out.append(f"{why.replace('_', ' ')} ({subs or 'as a token sequence'})")
    elif ch.how == SEEN_HOW:
        if facts.index.majority_label(new) != label:
            out.append(f"not a training mention with majority label {label}")
        if facts.index.normalize(new) == facts.index.normalize(old):
            out.append("the original name itself")
    else:
        out.append(f"unknown replacement kind {ch.how!r}")
    return out
