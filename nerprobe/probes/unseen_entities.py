"""The ``unseen-entities`` probe: every test entity replaced by a surface form of its type never seen in training.

Replacements come from a pool of held-out mentions of the same type (by default the test set's own mentions that
training never saw; pass ``pool`` to draw from, e.g., the dev set), preferring forms with the same number of
tokens, or from Faker for person, location and organization names. The context is left as it is. In nested
corpora the innermost entities are replaced and the enclosing ones keep consistent offsets (``rewrite``). Each
item pairs with its original sentence through ``original_id``.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Callable, Iterable

from nerprobe.data.model import Sentence
from nerprobe.errors import InputError
from nerprobe.probes.base import Change, ProbeItem, ProbeSet
from nerprobe.probes.coverage import MentionIndex
from nerprobe.probes.rewrite import replace_spans, replaceable_spans

SOURCES = ("auto", "pool", "faker")
"""``pool``: held-out mentions only; ``faker``: Faker only (PER/LOC/ORG); ``auto``: pool, then Faker when empty."""

_FAKER_KINDS = {
    "per": "person", "person": "person", "persons": "person", "people": "person",
    "loc": "location", "location": "location", "gpe": "location", "place": "location",
    "org": "organization", "organization": "organization", "organisation": "organization",
    "company": "organization", "corporation": "organization",
}


def faker_kind(label: str) -> str | None:
    """``person``/``location``/``organization`` for a label name Faker can fill, else None."""
    return _FAKER_KINDS.get(label.casefold())


class ReplacementSource:
    """Draws surfaces of a type that the training index has never seen (deterministic for the given ``rng``)."""

    def __init__(self, index: MentionIndex, pool: Iterable[Sentence], source: str, rng: random.Random, seed: int):
        if source not in SOURCES:
            raise InputError(None, None, f"unknown source {source!r} (known: {', '.join(SOURCES)})",
                             field="replacement_source")
        self.index, self.source, self.rng = index, source, rng
        by_type: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
        for s in pool:
            for e in s.entities:
                surface = s.surface(e)
                key = index.normalize(surface)
                if key and key not in index.counts:
                    by_type[e.label].setdefault(key, (surface, s.id))
        # sorted lists keep the draw independent of set/dict iteration quirks
        self.pool = {lab: sorted(forms.values()) for lab, forms in by_type.items()}
        self.pool_by_len = {
            lab: _group_by_len(forms) for lab, forms in self.pool.items()
        }
        self._faker = None
        self._seed = seed

    def _fake(self, kind: str) -> str:
        if self._faker is None:
            from faker import Faker

            self._faker = Faker("en_US")
            self._faker.seed_instance(self._seed)
        f = self._faker
        if kind == "person":
            return f.name()
        if kind == "location":
            return f.city() if self.rng.random() < 0.6 else f.country()
        return f.company()

    def draw(self, label: str, n_tokens: int, avoid: set[str]) -> tuple[str, str, str] | None:
        """``(surface, how, source)`` of a new unseen surface of type ``label`` (not in ``avoid``), or None."""
        if self.source in ("auto", "pool") and self.pool.get(label):
            candidates = self.pool_by_len[label].get(n_tokens) or self.pool[label]
            for _ in range(20):
                surface, sid = candidates[self.rng.randrange(len(candidates))]
                if self.index.normalize(surface) not in avoid:
                    return surface, "pool", sid
            rest = [c for c in self.pool[label] if self.index.normalize(c[0]) not in avoid]
            if rest:
                surface, sid = rest[self.rng.randrange(len(rest))]
                return surface, "pool", sid
        kind = faker_kind(label)
        if self.source in ("auto", "faker") and kind:
            for _ in range(50):
                surface = self._fake(kind)
                key = self.index.normalize(surface)
                if key not in self.index.counts and key not in avoid:
                    return surface, "faker", f"faker:{kind}"
        return None


def _group_by_len(forms: list[tuple[str, str]]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list] = defaultdict(list)
    for f in forms:
        out[len(f[0].split())].append(f)
    return dict(out)


def build_unseen_entities(
    train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0, *,
    pool: Iterable[Sentence] | None = None, source: str = "auto",
    normalize: str | Callable[[str], str] | None = None, index: MentionIndex | None = None,
) -> ProbeSet:
    """The ``unseen-entities`` probe set: one item per test sentence (``original_id`` = its id).

    Each innermost entity span gets a new surface of its label's type, unseen in training; two mentions of the
    same surface and label in a sentence get the same replacement. Spans that another entity crosses, and spans
    for which no replacement exists (an empty pool), are kept and reported in ``problems``; sentences without
    entities are kept unchanged (they still count for precision). ``meta["replaced"]`` counts the replaced spans.
    """
    train = list(train)
    test = list(test)
    index = index or MentionIndex(train, normalize)
    rng = random.Random(seed)
    src = ReplacementSource(index, test if pool is None else pool, source, rng, seed)
    items, problems = [], []
    no_pool: Counter = Counter()
    n_crossing = n_empty = 0
    for s in test:
        if not s.entities:
            n_empty += 1
            items.append(ProbeItem(f"{s.id}#unseen", s.id, s, (), {"replaced": 0}))
            continue
        spans, crossing = replaceable_spans(s)
        n_crossing += len(crossing)
        replacements: dict[tuple[int, int], str] = {}
        how: dict[tuple[int, int], tuple[str, str]] = {}
        chosen: dict[tuple[str, str], tuple[str, str, str]] = {}
        avoid = {index.normalize(s.text[a:b]) for a, b in spans}
        for a, b in spans:
            label = min(e.label for e in s.entities if e.span == (a, b))
            surface = s.text[a:b]
            key = (index.normalize(surface), label)
            got = chosen.get(key) or src.draw(label, len(surface.split()), avoid)
            if got is None:
                no_pool[label] += 1
                continue
            chosen[key] = got
            avoid.add(index.normalize(got[0]))
            replacements[(a, b)] = got[0]
            how[(a, b)] = (got[1], got[2])
        new, pairs = replace_spans(s, replacements, f"{s.id}#unseen")
        changes = _changes(s, new, pairs, replacements, how)
        items.append(ProbeItem(new.id, s.id, new, changes, {"replaced": len(replacements)}))
    for label, n in sorted(no_pool.items()):
        problems.append(f"empty replacement pool for {label!r}: {n} mention(s) kept unchanged")
    if n_crossing:
        problems.append(f"{n_crossing} mention(s) crossed by another entity were kept unchanged")
    params = {"source": source, "pool": "test" if pool is None else "given",
              "pool_sizes": {lab: len(v) for lab, v in sorted(src.pool.items())},
              "sentences_without_entities": n_empty}
    return ProbeSet("unseen-entities", seed, items, params, problems)


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
