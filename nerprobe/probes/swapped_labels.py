"""The ``swapped-labels`` probes.

a. ``build_relabeled``: the label set renamed in the instruction and in the expected output: symbols A, B, C, ...
   with or without the label definitions (as the LLMs4NER ``conll2003-se``/``-so`` sets), or a permutation of the
   real label names (each definition moves with its type, so the task stays well defined). A model that reads the
   instruction follows the new names; one that recalls entity→label pairs writes the old ones.
b. ``build_type_swaps``: in each test sentence whose context can imply a type (enough alphabetic words outside
   the entities; not a header, date or score line), one entity is replaced by a training entity of *another* type
   that training labels consistently, so the context implies the gold type while memory says another. ``meta``
   keeps the span, the gold (context) label and the memorized label, to count how often a model follows each.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from typing import Callable, Iterable

from nerprobe.data.model import Entity, Sentence, Token
from nerprobe.errors import InputError
from nerprobe.probes.base import Change, ProbeItem, ProbeSet, whitespace_tokens
from nerprobe.probes.coverage import MentionIndex
from nerprobe.probes.rewrite import replace_spans, replaceable_spans
from nerprobe.probes.shape import casing_shape, n_tokens

RELABEL_MODES = ("symbols-defs", "symbols", "permuted")
"""``symbols-defs``: A, B, ... with the definitions; ``symbols``: A, B, ... alone; ``permuted``: real names shuffled."""


def derangement(names: tuple[str, ...], rng: random.Random) -> tuple[str, ...]:
    """A permutation of ``names`` that moves every name (for one name, the name itself)."""
    if len(names) < 2:
        return tuple(names)
    while True:
        perm = list(names)
        rng.shuffle(perm)
        if all(a != b for a, b in zip(names, perm)):
            return tuple(perm)


def relabel_mapping(labelset, mode: str, seed: int = 0):
    """``(new_labelset, mapping)`` for a renaming ``mode``; ``mapping`` maps each original name to its new name."""
    from nerprobe.formats.labels import LabelSet  # formats sit above data; imported only when relabeling

    if mode == "symbols-defs":
        return labelset.symbolized(True)
    if mode == "symbols":
        return labelset.symbolized(False)
    if mode == "permuted":
        perm = derangement(tuple(labelset.names), random.Random(seed))
        mapping = dict(zip(labelset.names, perm))
        definitions = {mapping[k]: v for k, v in labelset.definitions.items() if k in mapping}
        return LabelSet(names=tuple(mapping[n] for n in labelset.names), definitions=definitions), mapping
    raise InputError(None, None, f"unknown relabeling {mode!r} (known: {', '.join(RELABEL_MODES)})",
                     field="probes")


def build_relabeled(test: Iterable[Sentence], labelset, mode: str, seed: int = 0) -> ProbeSet:
    """The ``swapped-labels-<mode>`` set: every test sentence with its entities renamed by the mode's mapping.

    ``params["labelset"]`` holds the new label set (names and definitions) for the instruction, and
    ``params["mapping"]`` original → new. Mentions whose label the label set lacks are dropped from the expected
    output and reported in ``problems``.
    """
    new_set, mapping = relabel_mapping(labelset, mode, seed)
    items, dropped = [], defaultdict(int)
    for s in test:
        ents, changes = [], []
        for e in s.entities:
            if e.label not in mapping:
                dropped[e.label] += 1
                continue
            ne = Entity(e.start, e.end, mapping[e.label])
            ents.append(ne)
            changes.append(Change(e, s.surface(e), ne, s.surface(e), "relabel"))
        new = Sentence(f"{s.id}#{mode}", s.text, s.tokens, tuple(ents), s.doc_id)
        items.append(ProbeItem(new.id, s.id, new, tuple(changes), {}))
    problems = [f"label {lab!r} is not in the label set: {n} mention(s) left out of the renamed set"
                for lab, n in sorted(dropped.items())]
    params = {"mode": mode, "mapping": mapping,
              "labelset": {"names": list(new_set.names), "definitions": dict(new_set.definitions)}}
    return ProbeSet(f"swapped-labels-{mode}", seed, items, params, problems)


def consistent_training_entities(index: MentionIndex, train: Iterable[Sentence], min_count: int = 2
                                 ) -> dict[str, list[str]]:
    """Training surfaces by label that carry only that label, at least ``min_count`` times (sorted, one surface
    per normalized form): the entities whose memorized label is unambiguous."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for s in train:
        for e in s.entities:
            surface = s.surface(e)
            key = index.normalize(surface)
            c = index.counts.get(key)
            if c and len(c) == 1 and c[e.label] >= min_count:
                out[e.label].setdefault(key, surface)
    return {lab: sorted(forms.values()) for lab, forms in out.items()}


DROP_REASONS = ("no_replaceable_entity", "header_date_score", "too_little_context", "no_swap_candidate")
"""Why ``build_type_swaps`` leaves a test sentence out, checked in this order (each sentence counts once)."""

_DATE_WORDS = frozenset("""
january february march april may june july august september october november december jan feb mar apr jun jul aug
sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri
sat sun
""".split())
_DOCSTART = re.compile(r"^-[A-Z]+-$")


def _tokens(sentence: Sentence) -> tuple[Token, ...]:
    return sentence.tokens or tuple(whitespace_tokens(sentence.text))


def _outside_entities(sentence: Sentence) -> list[str]:
    """Texts of the tokens that lie outside every entity span of ``sentence``."""
    spans = [e.span for e in sentence.entities]
    return [t.text for t in _tokens(sentence) if not any(a < t.end and t.start < b for a, b in spans)]


def context_words(sentence: Sentence) -> list[str]:
    """The alphabetic context of a sentence: tokens outside every entity with at least two letters (a single
    letter, such as cricket's ``c``/``b`` in scorecards or a list's ``a``, does not imply a type)."""
    return [w for w in _outside_entities(sentence) if sum(c.isalpha() for c in w) >= 2]


def header_date_score(sentence: Sentence) -> bool:
    """True for a line whose context cannot imply a type: a ``-DOCSTART-``-like marker, a score or table line
    (more than half of the tokens outside entities that have a letter or digit contain a digit), or a date line
    (every alphabetic token outside entities is a month or weekday name)."""
    if any(_DOCSTART.match(t.text) for t in _tokens(sentence)):
        return True
    words = [w for w in _outside_entities(sentence) if any(c.isalnum() for c in w)]
    if words and 2 * sum(any(c.isdigit() for c in w) for w in words) > len(words):
        return True
    alpha = [w for w in words if any(c.isalpha() for c in w)]
    return bool(alpha) and all(w.casefold().strip(".") in _DATE_WORDS for w in alpha)


def context_problem(sentence: Sentence, min_context: int) -> str | None:
    """``header_date_score`` or ``too_little_context`` (fewer than ``min_context`` context words) when the
    sentence's context cannot imply a type, else None."""
    if header_date_score(sentence):
        return "header_date_score"
    if len(context_words(sentence)) < min_context:
        return "too_little_context"
    return None


def swappable_spans(sentence: Sentence) -> list[tuple[int, int]]:
    """Spans that may take another name: innermost and replaceable (``replaceable_spans``), one label, and not
    inside another entity (the context of an inner entity is its enclosing name, not the sentence)."""
    spans, _ = replaceable_spans(sentence)
    return [(a, b) for a, b in spans if sum(1 for e in sentence.entities if e.span == (a, b)) == 1
            and not any(o.start <= a and b <= o.end and o.span != (a, b) for o in sentence.entities)]


def build_type_swaps(
    train: Iterable[Sentence], test: Iterable[Sentence], seed: int = 0, *, min_count: int = 2,
    min_context: int = 3, normalize: str | Callable[[str], str] | None = None, index: MentionIndex | None = None,
) -> ProbeSet:
    """The ``type-swaps`` set: for each test sentence whose context can imply a type, one swappable entity
    (``swappable_spans``, drawn with ``seed``) replaced by a consistently-labelled training entity of another
    type, of the same token count and casing shape when there is one (else the same token count, else any).

    A sentence is kept only with at least ``min_context`` context words (``context_words``) and when it is not a
    header, date or score line (``header_date_score``). The expected output keeps the gold (context) label;
    ``meta`` has ``span`` (new offsets), ``gold_label``, ``memorized_label``, ``train_count``, ``shape`` and
    ``n_tokens`` of the inserted name, ``shape_matched`` (same token count and casing shape as the original) and
    ``context_words``. ``params["dropped"]`` counts the sentences left out by reason (``DROP_REASONS``).
    """
    if min_context < 0:
        raise InputError(None, None, f"min_context must be >= 0, got {min_context}", field="min_context")
    train = list(train)
    index = index or MentionIndex(train, normalize)
    rng = random.Random(seed)
    candidates = consistent_training_entities(index, train, min_count)
    by_form = {lab: _by_form(forms) for lab, forms in candidates.items()}
    items, dropped = [], Counter()
    for s in test:
        why, item = _swap_item(s, rng, candidates, by_form, index, min_context)
        if why:
            dropped[why] += 1
        else:
            items.append(item)
    params = {"min_count": min_count, "min_context": min_context,
              "dropped": {k: dropped.get(k, 0) for k in DROP_REASONS},
              "skipped_sentences": sum(dropped.values()),
              "candidates": {lab: len(v) for lab, v in sorted(candidates.items())}}
    problems = []
    if len(candidates) < 2:
        problems.append("type swaps need consistently labelled training entities of at least two types; "
                        f"found {len(candidates)}")
    return ProbeSet("type-swaps", seed, items, params, problems)


def _swap_item(s: Sentence, rng: random.Random, candidates, by_form, index: MentionIndex, min_context: int):
    """``(drop_reason, None)`` or ``(None, item)`` for one test sentence."""
    single = swappable_spans(s)
    if not single:
        return "no_replaceable_entity", None
    why = context_problem(s, min_context)
    if why:
        return why, None
    a, b = single[rng.randrange(len(single))]
    gold = next(e for e in s.entities if e.span == (a, b))
    others = sorted(lab for lab in candidates if lab != gold.label and candidates[lab])
    if not others:
        return "no_swap_candidate", None
    mem_label = others[rng.randrange(len(others))]
    n_tok, shape = n_tokens(s.text[a:b]), casing_shape(s.text[a:b])
    forms = by_form[mem_label]
    pool = forms.get((n_tok, shape)) or forms.get(n_tok) or candidates[mem_label]
    present = s.text.casefold()
    surface = pool[rng.randrange(len(pool))]
    for _ in range(10):
        if surface.casefold() not in present:
            break
        surface = pool[rng.randrange(len(pool))]
    new, pairs = replace_spans(s, {(a, b): surface}, f"{s.id}#swap")
    changes = tuple(
        Change(old, s.surface(old), nw, new.surface(nw), "type_swap" if old.span == (a, b) else "enclosing",
               f"train:{mem_label}" if old.span == (a, b) else None)
        for old, nw in pairs if old.span == (a, b) or s.surface(old) != new.surface(nw)
    )
    target = next(nw for old, nw in pairs if old.span == (a, b))
    meta = {"span": [target.start, target.end], "gold_label": gold.label, "memorized_label": mem_label,
            "train_count": int(sum(index.labels_of(surface).values())),
            "shape": casing_shape(surface), "n_tokens": n_tokens(surface),
            "shape_matched": (n_tokens(surface), casing_shape(surface)) == (n_tok, shape),
            "context_words": len(context_words(s))}
    return None, ProbeItem(new.id, s.id, new, changes, meta)


def _by_form(forms: list[str]) -> dict:
    """Surfaces by token count and by ``(token count, casing shape)`` (both kinds of key in one dict)."""
    out: dict = defaultdict(list)
    for f in forms:
        out[n_tokens(f)].append(f)
        out[(n_tokens(f), casing_shape(f))].append(f)
    return dict(out)


def swap_outcome(item: ProbeItem, predicted: Iterable[Entity]) -> str:
    """What a prediction did with the swapped entity: ``context`` (gold label on the span), ``memory`` (the
    memorized label), ``other`` (another label on the span) or ``missed`` (nothing on the span)."""
    a, b = item.meta["span"]
    labels = {e.label for e in predicted if (e.start, e.end) == (a, b)}
    if item.meta["gold_label"] in labels:
        return "context"
    if item.meta["memorized_label"] in labels:
        return "memory"
    return "other" if labels else "missed"
